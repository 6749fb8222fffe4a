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
  widget.options = { ...(widget.options || {}), hidden: true };
}

/** Tells the workflow that the graph changed (undo history, modified flag, tab persistence). */
function markChanged(node) {
  node.setDirtyCanvas?.(true, true);
  app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
}

function attachEditor(node) {
  const widget = (name) => node.widgets?.find((w) => w.name === name);
  const layoutWidget = widget("layout_json");
  if (!layoutWidget) return;
  hideWidget(layoutWidget);

  const view = new BoxEditorView({
    request: () => ({
      text: String(widget("text")?.value ?? ""),
      width: Number(widget("width")?.value ?? 512),
      height: Number(widget("height")?.value ?? 512),
      seed: Number(widget("seed")?.value ?? 0),
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
    getMinHeight: () => 380,
  });
  for (const name of WATCHED) {
    const w = widget(name);
    if (w) chain(w, "callback", () => view.inputsChanged());
  }
  const [width, height] = node.size;
  node.setSize([Math.max(width, 460), Math.max(height, 660)]);
  // Widget values of a loaded workflow are set after onNodeCreated: read them once that is done.
  setTimeout(() => view.reload(), 0);
}

app.registerExtension({
  name: "spacetime.boxEditor",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== NODE_ID) return;
    chain(nodeType.prototype, "onNodeCreated", function () {
      attachEditor(this);
    });
    chain(nodeType.prototype, "onConfigure", function () {
      this.spacetimeBoxEditor?.reload();
    });
    chain(nodeType.prototype, "onExecuted", function (message) {
      this.spacetimeBoxEditor?.showRun(message?.spacetime_layout?.[0]);
    });
  },
});
