// The box editor's behaviour: which layout is shown, pointer and keyboard editing, undo, reset, prediction.
// It knows nothing about nodes or widgets: the glue in ../box_editor.js passes a `host` with
//   request()      -> {text, width, height, seed, layoutSource} of the node now; layoutSource names a linked
//                     input whose layout replaces the prediction (known after a run); text is null when another
//                     node computes it (then only a run can tell the layout),
//   stored()       -> the layout_json string (the edit that runs use),
//   store(json)    -> writes layout_json ("" clears it) and tells the workflow it changed,
//   fetchApi(path, init) -> the frontend's api.fetchApi.
//
// What is shown, first match wins: the stored edit, then the layout of the last run (onExecuted), then
// the live prediction. The first drag or rename copies the shown layout into layout_json.
//
// Keyframes (for video models): in Start a drag edits an object's `box`; in End it edits its `end_box` (made
// from the box on the first drag), where the object is at the video's last frame. "Still" removes the selected
// object's end box.

import { buildEditorDom, setMotion, setStatus, showKeyframe } from "./editor_dom.js";
import { cursorFor, drawLayout, hitTest, labelFor } from "./layout_canvas.js";
import { History, addObject, boxKey, clearMotion, cloneLayout, deleteObject, keyframeBox, moveBox, moves,
  parseLayout, renameObject, resizeBox, setLocalPrompt } from "./layout_edit.js";
import { createPredictor } from "./predict_client.js";

export class BoxEditorView {
  constructor(host) {
    this.host = host;
    this.dom = buildEditorDom();
    this.history = new History();
    this.edited = null; // parsed layout_json, or null when the prediction is used
    this.predicted = null;
    this.lastRun = null;
    this.selected = -1;
    this.keyframe = "start"; // which box a drag edits: "start" (box) or "end" (end_box)
    this.drag = null;
    this.cssSize = null; // canvas size in CSS pixels, set by fit() once the stage has a size
    this.message = { text: "", isError: false };
    this.predictor = createPredictor(host.fetchApi, (result) => this.onPrediction(result));
    this.wire();
    new ResizeObserver(() => this.fit()).observe(this.dom.stage);
  }

  get element() {
    return this.dom.root;
  }

  /** The layout the canvas shows and the next run uses (if it is the edit or the prediction). */
  shown() {
    return this.edited || this.lastRun || this.predicted;
  }

  // ---- inputs from the node -------------------------------------------------------------------------

  /** Re-reads layout_json (node created, workflow loaded, graph undo) and predicts for the current text. */
  reload() {
    this.readStored();
    this.predict(false);
    this.fit();
  }

  /** The prompt, size or seed changed: predict again after the user pauses typing. */
  inputsChanged() {
    this.lastRun = null;
    this.predict(true);
    this.fit();
  }

  predict(debounced) {
    const request = this.host.request();
    if (request.layoutSource) {
      this.predictor.cancel();
      this.predicted = null;
      this.setMessage(`The layout comes from the linked '${request.layoutSource}' input: it is shown after a run, `
        + "then drag a box to edit it.", false, true);
      this.render();
    } else if (typeof request.text !== "string") {
      this.predictor.cancel();
      this.predicted = null;
      this.setMessage("The prompt comes from another node: its layout is shown after a run.", false, true);
      this.render();
    } else if (debounced) this.predictor.schedule(request);
    else this.predictor.now(request);
  }

  /** After a run: show what the node used (message.spacetime_layout[0]). */
  showRun(layout) {
    if (!layout || !Array.isArray(layout.objects)) return;
    this.lastRun = layout;
    this.readStored();
    this.render();
  }

  readStored() {
    try {
      this.edited = parseLayout(this.host.stored());
      this.setMessage("");
    } catch (err) {
      this.edited = null;
      this.setMessage(`layout_json: ${err.message}`, true);
    }
    if (this.selected >= (this.shown()?.objects.length ?? 0)) this.selected = -1;
  }

  onPrediction(result) {
    if (result.limits) this.applyLimits(result.limits);
    if (result.layout) {
      this.predicted = result.layout;
      if (this.message.fromPredict) this.setMessage("");
    } else {
      this.predicted = null;
      const field = result.field ? `${result.field}: ` : "";
      this.setMessage(`${field}${result.error}`, true, true);
    }
    this.render();
  }

  /** Caps the name and local-prompt fields at the length Python accepts (sent with each prediction). */
  applyLimits(limits) {
    const chars = Number(limits.phrase_chars);
    if (!Number.isInteger(chars) || chars <= 0) return;
    this.dom.nameInput.maxLength = chars;
    this.dom.promptInput.maxLength = chars;
  }

  // ---- edits ------------------------------------------------------------------------------------------

  /** Starts an edit: remembers the stored value for undo and makes sure an editable copy exists. */
  beginEdit() {
    this.history.push(this.host.stored() || "");
    if (!this.edited) this.edited = cloneLayout(this.shown());
    return this.edited;
  }

  commit() {
    this.lastRun = null;
    this.host.store(JSON.stringify(this.edited));
    this.render();
  }

  add() {
    if (!this.shown()) return;
    const layout = this.beginEdit();
    this.selected = addObject(layout, "object");
    this.commit();
    this.dom.nameInput.focus();
    this.dom.nameInput.select();
  }

  removeSelected() {
    if (this.selected < 0 || !this.shown()) return;
    deleteObject(this.beginEdit(), this.selected);
    this.selected = -1;
    this.commit();
  }

  undo() {
    if (!this.history.canUndo()) return;
    this.host.store(this.history.pop());
    this.lastRun = null;
    this.readStored();
    this.render();
  }

  reset() {
    if (!this.host.stored()) return;
    this.history.push(this.host.stored());
    this.host.store("");
    this.edited = null;
    this.lastRun = null;
    this.selected = -1;
    this.predict(false);
    this.render();
  }

  rename(text) {
    if (this.selected < 0) return;
    const current = this.shown().objects[this.selected];
    if (String(text).trim() === String(current.phrase ?? "") || !String(text).trim()) {
      this.syncFields();
      return;
    }
    renameObject(this.beginEdit(), this.selected, text);
    this.commit();
  }

  /** Switches the keyframe that drags edit and the canvas shows solid ("start" or "end"). */
  setKeyframe(keyframe) {
    this.keyframe = keyframe === "end" ? "end" : "start";
    showKeyframe(this.dom.buttons, this.keyframe);
    this.render();
  }

  /** Removes the selected object's motion: it stays at its start box in every frame. */
  stopMotion() {
    if (this.selected < 0 || !moves(this.shown()?.objects[this.selected])) return;
    clearMotion(this.beginEdit(), this.selected);
    this.commit();
  }

  setPrompt(text) {
    if (this.selected < 0) return;
    const current = this.shown().objects[this.selected].prompt ?? "";
    if (String(text) === String(current)) return;
    setLocalPrompt(this.beginEdit(), this.selected, text);
    this.commit();
  }

  // ---- pointer ----------------------------------------------------------------------------------------

  /** Canvas point in CSS pixels of the untransformed canvas (the graph may be zoomed by a CSS transform). */
  point(event) {
    const rect = this.dom.canvas.getBoundingClientRect();
    const w = this.cssSize.w, h = this.cssSize.h;
    return { x: ((event.clientX - rect.left) * w) / rect.width, y: ((event.clientY - rect.top) * h) / rect.height };
  }

  pointerDown(event) {
    if (event.button !== 0 || !this.cssSize) return;
    this.dom.keys.focus({ preventScroll: true });
    const { x, y } = this.point(event);
    const hit = hitTest(this.shown(), this.selected, x, y, this.cssSize.w, this.cssSize.h, this.keyframe);
    this.selected = hit ? hit.index : -1;
    if (hit) {
      this.dom.canvas.setPointerCapture(event.pointerId);
      const from = [...keyframeBox(this.shown().objects[hit.index], this.keyframe)];
      this.drag = { hit, x, y, from, key: boxKey(this.keyframe), started: false };
    }
    event.preventDefault();
    this.render();
  }

  pointerMove(event) {
    if (!this.cssSize) return;
    const { x, y } = this.point(event);
    const { w, h } = this.cssSize;
    if (!this.drag) {
      this.dom.canvas.style.cursor = cursorFor(hitTest(this.shown(), this.selected, x, y, w, h, this.keyframe));
      return;
    }
    if (!this.drag.started) {
      if (Math.hypot(x - this.drag.x, y - this.drag.y) < 2) return;
      this.beginEdit();
      this.drag.started = true;
    }
    const { hit, from, key } = this.drag;
    if (hit.handle === "move") {
      moveBox(this.edited, hit.index, (x - this.drag.x) / w, (y - this.drag.y) / h, from, key);
    } else resizeBox(this.edited, hit.index, hit.handle, x / w, y / h, from, key);
    this.render();
  }

  pointerUp(event) {
    if (!this.drag) return;
    const started = this.drag.started;
    this.drag = null;
    if (this.dom.canvas.hasPointerCapture(event.pointerId)) this.dom.canvas.releasePointerCapture(event.pointerId);
    if (started) this.commit();
  }

  keyDown(event) {
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && key === "z" && !event.shiftKey) {
      event.preventDefault();
      this.undo();
    } else if (key === "delete" || key === "backspace") {
      event.preventDefault();
      this.removeSelected();
    }
  }

  wire() {
    const { canvas, keys, buttons, nameInput, promptInput } = this.dom;
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    canvas.addEventListener("pointercancel", (e) => this.pointerUp(e));
    keys.addEventListener("keydown", (e) => this.keyDown(e));
    buttons.add.addEventListener("click", () => this.add());
    buttons.remove.addEventListener("click", () => this.removeSelected());
    buttons.undo.addEventListener("click", () => this.undo());
    buttons.reset.addEventListener("click", () => this.reset());
    buttons.still.addEventListener("click", () => this.stopMotion());
    buttons.start.addEventListener("click", () => this.setKeyframe("start"));
    buttons.end.addEventListener("click", () => this.setKeyframe("end"));
    nameInput.addEventListener("change", () => this.rename(nameInput.value));
    promptInput.addEventListener("change", () => this.setPrompt(promptInput.value));
    for (const input of [nameInput, promptInput]) {
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") input.blur();
      });
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------------

  setMessage(text, isError = false, fromPredict = false) {
    this.message = { text, isError, fromPredict };
  }

  /** Sizes the canvas to the stage with the latent's aspect ratio (node width/height widgets). */
  fit() {
    const { width, height } = this.host.request();
    const aspect = width > 0 && height > 0 ? width / height : 1;
    const sw = this.dom.stage.clientWidth, sh = this.dom.stage.clientHeight;
    if (!sw || !sh) return;
    const w = Math.max(40, Math.floor(Math.min(sw, sh * aspect)));
    const h = Math.max(40, Math.floor(w / aspect));
    const ratio = window.devicePixelRatio || 1;
    const canvas = this.dom.canvas;
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    this.cssSize = { w, h };
    this.render();
  }

  render() {
    if (!this.cssSize) return;
    const ctx = this.dom.canvas.getContext("2d");
    const ratio = this.dom.canvas.width / this.cssSize.w;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const layout = this.shown();
    const origin = this.edited ? "edited" : this.lastRun ? "used in last run" : layout ? "predicted" : "";
    const note = origin && `${origin} · ${this.keyframe === "end" ? "End" : "Start"} keyframe`;
    drawLayout(ctx, this.cssSize.w, this.cssSize.h, layout, this.selected, note, this.keyframe);
    this.syncFields();
    this.dom.buttons.undo.disabled = !this.history.canUndo();
    this.dom.buttons.reset.disabled = !this.edited;
    this.dom.buttons.remove.disabled = this.selected < 0;
    this.dom.buttons.still.disabled = !moves(layout?.objects[this.selected]);
    this.showMotion(layout);
    const source = this.host.request().layoutSource;
    const follows = source ? `the linked '${source}' input` : "the prompt";
    const info = this.edited ? `Edited layout in use; Reset follows ${follows} again.` : "";
    setStatus(this.dom.status, this.message.text || info, this.message.isError);
  }

  /** The line that says whether the layout moves, and which objects (names as text, never markup). */
  showMotion(layout) {
    const moving = (layout?.objects || []).filter(moves).map(labelFor);
    let text = "";
    if (moving.length) {
      text = `Layout moves over a video's frames: ${moving.join(", ")}.`;
    } else if (this.keyframe === "end") {
      text = "End keyframe: drag a box to where it should be at the video's last frame.";
    }
    setMotion(this.dom.motion, text, moving.length > 0);
  }

  /** Shows the selected object's name and local prompt, without clobbering a field being typed in. */
  syncFields() {
    const obj = this.selected >= 0 ? this.shown()?.objects[this.selected] : null;
    const { nameInput, promptInput } = this.dom;
    for (const [input, value] of [[nameInput, obj ? String(obj.phrase ?? "") : ""],
      [promptInput, obj ? String(obj.prompt ?? "") : ""]]) {
      input.disabled = !obj;
      if (document.activeElement !== input) input.value = value;
    }
  }
}
