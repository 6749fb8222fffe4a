// SpaceTime box editor: glue between the Predict Layout node and the editor view.
// The edit lives in the node's socketless `layout_json` string widget, hidden here: it is saved with the
// workflow, sent in the API prompt and used by headless runs. The editor itself is a DOM widget with
// serialize: false, so it adds nothing to the prompt.

import { BoxEditorView } from "./spacetime/box_editor_view.js";

const { app } = window.comfyAPI.app;
const { api } = window.comfyAPI.api;

const NODE_ID = "SpaceTimePredictLayout";
const EDITOR_WIDGET = "spacetime_box_editor";
const WATCHED = ["text", "width", "height", "seed"];
// Inputs that, when linked, replace the prediction with a layout known only at run time.
const LAYOUT_SOURCES = ["layout", "bboxes"];

/** Calls the original method first, then ours; returns the original's result (LiteGraph may use it). */
function chain(target, name, extra) {
  const original = target[name];
  target[name] = function (...args) {
    const result = original?.apply(this, args);
    extra.apply(this, args);
    return result;
  };
}

/**
 * Hides a widget in both renderers: LiteGraph reads widget.hidden (and still reserves computeSize's
 * height), Vue nodes read options.hidden.
 */
function hideWidget(widget) {
  widget.hidden = true;
  widget.computeSize = () => [0, -4];
  // in place: the Vue renderer keeps a reference to this object
  widget.options ??= {};
  widget.options.hidden = true;
}

/**
 * A widget whose input is linked takes its value from the linked node; the node's own copy would show a stale
 * value beside new boxes. Its value mirrors the source's (so it is right on screen, and right when the link is
 * removed), and on the classic canvas it is hidden while the link exists. Vue nodes draw a linked widget as
 * linked themselves and rebuild a node's widgets only when the workflow loads, so there it stays visible.
 */
function showLinkedState(node, name) {
  const widget = node.widgets?.find((w) => w.name === name);
  const input = node.inputs?.find((i) => i.name === name);
  if (!widget || !input) return false;
  const linked = input.link != null;
  mirrorSource(node, name, widget);
  if (globalThis.LiteGraph?.vueNodesMode) return false;
  if (linked && !widget.spacetimeLinkHidden) {
    widget.spacetimeLinkHidden = { computeSize: widget.computeSize };
    hideWidget(widget);
    return true;
  }
  if (!linked && widget.spacetimeLinkHidden) {
    widget.hidden = false;
    widget.computeSize = widget.spacetimeLinkHidden.computeSize;
    widget.options.hidden = false;
    widget.spacetimeLinkHidden = null;
    return true;
  }
  return false;
}

/** Copies a linked primitive's value into the node's own widget (through its callback, so Vue nodes see it). */
function mirrorSource(node, name, widget) {
  const source = sourceWidget(node, name);
  if (!source || source === widget || source.value === widget.value) return;
  if (typeof widget.callback === "function") widget.callback(source.value);
  widget.value = source.value;
}

function showLinkedStates(node) {
  if (WATCHED.map((name) => showLinkedState(node, name)).some(Boolean)) node.setDirtyCanvas?.(true, true);
}

/** Tells the workflow that the graph changed (undo history, modified flag, tab persistence). */
function markChanged(node) {
  node.setDirtyCanvas?.(true, true);
  app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
}

/**
 * The widget that really holds input `name`: the node's own, or, when the input is linked to a primitive
 * node (the example workflows share one prompt between Predict Layout and CLIP Text Encode), that
 * primitive's value widget. Null when the value is computed by another node and only known at run time.
 */
function sourceWidget(node, name) {
  const slot = node.inputs?.findIndex((input) => input.name === name) ?? -1;
  if (slot < 0 || node.inputs[slot].link == null) return node.widgets?.find((w) => w.name === name) ?? null;
  const source = node.getInputNode?.(slot);
  if (!source || !String(source.type).startsWith("Primitive")) return null;
  return source.widgets?.find((w) => w.name === "value") ?? null;
}

/** Predicts again when a source widget changes; each widget is chained once however often links change. */
function watchSources(node, view, watched) {
  for (const name of WATCHED) {
    const w = sourceWidget(node, name);
    if (!w || watched.has(w)) continue;
    watched.add(w);
    chain(w, "callback", () => {
      if (sourceWidget(node, name) !== w) return;
      showLinkedState(node, name);
      view.inputsChanged();
    });
  }
}

function attachEditor(node) {
  const widget = (name) => node.widgets?.find((w) => w.name === name);
  const layoutWidget = widget("layout_json");
  if (!layoutWidget) return;
  hideWidget(layoutWidget);
  const value = (name, fallback) => {
    const w = sourceWidget(node, name);
    return w ? w.value : fallback;
  };

  const view = new BoxEditorView({
    request: () => ({
      text: value("text", null),
      width: Number(value("width", widget("width")?.value ?? 512)),
      height: Number(value("height", widget("height")?.value ?? 512)),
      seed: Number(value("seed", widget("seed")?.value ?? 0)),
      layoutSource: LAYOUT_SOURCES.find((name) => node.inputs?.find((i) => i.name === name)?.link != null) ?? null,
    }),
    stored: () => String(layoutWidget.value ?? ""),
    store: (json) => {
      layoutWidget.value = json;
      markChanged(node);
    },
    fetchApi: (path, init) => api.fetchApi(path, init),
  });
  node.spacetimeBoxEditor = view;

  node.addDOMWidget(EDITOR_WIDGET, "spacetime-box-editor", view.element, {
    serialize: false,
    hideOnZoom: false,
    getMinHeight: () => 460,
  });
  const watched = new WeakSet();
  watchSources(node, view, watched);
  chain(node, "onConnectionsChange", () => {
    watchSources(node, view, watched);
    showLinkedStates(node);
    view.inputsChanged();
  });
  const [width, height] = node.size;
  node.setSize([Math.max(width, 460), Math.max(height, 660)]);
  // Widget values of a loaded workflow are set after onNodeCreated: read them once that is done.
  setTimeout(() => {
    showLinkedStates(node);
    view.reload();
  }, 0);
}

app.registerExtension({
  name: "spacetimeattention.boxEditor",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_ID) return;
    chain(nodeType.prototype, "onNodeCreated", function () {
      attachEditor(this);
    });
    chain(nodeType.prototype, "onConfigure", function () {
      showLinkedStates(this);
      this.spacetimeBoxEditor?.reload();
    });
    chain(nodeType.prototype, "onExecuted", function (message) {
      this.spacetimeBoxEditor?.showRun(message?.spacetime_layout?.[0]);
    });
  },
});
