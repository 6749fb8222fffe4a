// The editor's DOM: toolbar, canvas stage, fields for the selected object, status line.
// Built with createElement/textContent only; user strings go into .value or .textContent, never markup.
// Every pointer, keyboard and wheel event is stopped at the root so the graph canvas never sees it.

const BUTTON_STYLE = "background:#333;border:1px solid #555;border-radius:4px;color:#ddd;font:12px sans-serif;"
  + "padding:2px 8px;cursor:pointer;";
const INPUT_STYLE = "flex:1;min-width:0;background:#222;border:1px solid #555;border-radius:4px;color:#ddd;"
  + "font:12px sans-serif;padding:2px 4px;";

function el(tag, style, attrs = {}) {
  const node = document.createElement(tag);
  if (style) node.style.cssText = style;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function button(role, text, title) {
  const node = el("button", BUTTON_STYLE, { "data-role": role, type: "button", title });
  node.textContent = text;
  return node;
}

/**
 * The Start / End keyframe switch: two toggle buttons in one group, the active one pressed. Start edits the
 * boxes (a still image's only boxes, a video's first frame); End edits where the boxes are at a video's last
 * frame.
 */
function keyframeSwitch() {
  const group = el("div", "display:flex;align-items:center;gap:0;margin-left:auto;",
    { role: "group", "aria-label": "Keyframe", "data-role": "keyframe" });
  const caption = el("span", "font:12px sans-serif;color:#aaa;margin-right:4px;");
  caption.textContent = "Keyframe";
  const start = button("keyframe-start", "Start", "Edit the boxes at the start (a still image's only boxes; a "
    + "video's first frame)");
  const end = button("keyframe-end", "End", "Edit where the boxes are at a video's last frame: video models move "
    + "each box from Start to End over the frames");
  start.style.borderRadius = "4px 0 0 4px";
  end.style.borderRadius = "0 4px 4px 0";
  end.style.borderLeft = "0";
  group.append(caption, start, end);
  return { group, start, end };
}

/** Marks the active keyframe's button pressed (aria-pressed and a highlight). */
export function showKeyframe(buttons, keyframe) {
  for (const [name, node] of [["start", buttons.start], ["end", buttons.end]]) {
    const active = name === keyframe;
    node.setAttribute("aria-pressed", String(active));
    node.style.background = active ? "#3d5a80" : "#333";
    node.style.color = active ? "#fff" : "#ddd";
    node.style.fontWeight = active ? "bold" : "normal";
  }
}

function field(role, label, placeholder) {
  const row = el("label", "display:flex;align-items:center;gap:6px;font:12px sans-serif;color:#aaa;");
  const caption = el("span", "min-width:76px;");
  caption.textContent = label;
  const input = el("input", INPUT_STYLE, { "data-role": role, type: "text", placeholder, spellcheck: "false" });
  row.append(caption, input);
  return { row, input };
}

/** Stops the events that the graph canvas, the node (Vue mode) or global keybindings would act on. */
function isolate(root) {
  const stop = (event) => event.stopPropagation();
  for (const type of ["pointerdown", "pointermove", "pointerup", "pointercancel", "mousedown", "click",
    "dblclick", "contextmenu", "keydown", "keyup", "keypress", "wheel", "copy", "paste", "cut"]) {
    root.addEventListener(type, stop);
  }
}

/** Builds the editor's elements; returns the named parts the controller wires up. */
export function buildEditorDom() {
  const root = el("div", "display:flex;flex-direction:column;gap:4px;width:100%;height:100%;box-sizing:border-box;"
    + "padding:2px;overflow:hidden;", { class: "spacetime-box-editor", "data-testid": "spacetime-box-editor" });
  const toolbar = el("div", "display:flex;gap:4px;flex-wrap:wrap;flex:0 0 auto;");
  const buttons = {
    add: button("add", "Add", "Add an object with a box in the middle"),
    remove: button("delete", "Delete", "Delete the selected object (Delete key)"),
    undo: button("undo", "Undo", "Undo the last edit (Ctrl+Z)"),
    reset: button("reset", "Reset", "Forget the edits and follow the prompt again"),
    still: button("still", "Still", "Remove the selected object's motion: it stays at its Start box"),
  };
  const keyframe = keyframeSwitch();
  buttons.start = keyframe.start;
  buttons.end = keyframe.end;
  showKeyframe(buttons, "start");
  toolbar.append(buttons.add, buttons.remove, buttons.undo, buttons.reset, buttons.still, keyframe.group);

  const stage = el("div", "flex:1 1 auto;min-height:300px;position:relative;display:flex;align-items:center;"
    + "justify-content:center;overflow:hidden;");
  const canvas = el("canvas", "display:block;touch-action:none;outline:none;", { "data-role": "canvas" });
  // A text input is the keyboard target while the canvas is active: ComfyUI's change tracker treats keys
  // typed into inputs as text editing, so Ctrl+Z undoes the box edit here and not the whole graph.
  const keys = el("input", "position:absolute;left:0;top:0;width:1px;height:1px;opacity:0;border:0;padding:0;",
    { "data-role": "keys", type: "text", "aria-label": "box editor keyboard", readonly: "" });
  stage.append(canvas, keys);

  const name = field("name", "Name", "select a box");
  const prompt = field("prompt", "Local prompt", "optional: text for this box only");
  const line = "flex:0 0 auto;font:11px sans-serif;color:#999;min-height:14px;white-space:nowrap;overflow:hidden;"
    + "text-overflow:ellipsis;";
  const motion = el("div", line, { "data-role": "motion" });
  const status = el("div", line, { "data-role": "status" });
  root.append(toolbar, stage, name.row, prompt.row, motion, status);
  isolate(root);
  return { root, stage, canvas, keys, buttons, nameInput: name.input, promptInput: prompt.input, motion, status };
}

/** Says whether and which objects move ("" when the layout is still and Start is active). Text only. */
export function setMotion(motion, text, moving) {
  motion.textContent = text || "";
  motion.style.color = moving ? "#8ecae6" : "#999";
  motion.title = text || "";
}

/** Shows a message in the status line; errors in red. Text only. */
export function setStatus(status, text, isError = false) {
  status.textContent = text || "";
  status.style.color = isError ? "#ff6b6b" : "#999";
  status.title = text || "";
}
