// Page helpers for box-editor scenarios: load a graph, find the Predict Layout node and its editor, type,
// drag with real pointer events, and read what would be queued.

const NODE_TYPE = 'SpaceTimePredictLayout';

/** Loads a UI workflow (or a single new Predict Layout node), puts that node on screen; returns its id. */
async function loadWorkflow(page, workflow) {
  const id = await page.evaluate(async ({ wf, type }) => {
    if (wf) await window.app.loadGraphData(wf, true, true, 'test-workflow');
    else {
      window.app.graph.clear();
      const created = LiteGraph.createNode(type);
      created.pos = [100, 100];
      window.app.graph.add(created);
    }
    const node = window.app.graph._nodes.find((n) => n.type === type);
    const ds = window.app.canvas.ds;
    ds.scale = 1;
    ds.offset = [120 - node.pos[0], 140 - node.pos[1]];
    window.app.canvas.setDirty(true, true);
    return node.id;
  }, { wf: workflow, type: NODE_TYPE });
  await page.waitForFunction((nid) => {
    const view = window.app.graph.getNodeById(nid)?.spacetimeBoxEditor;
    return view && view.cssSize && view.dom.canvas.isConnected;
  }, id, { timeout: 30000 });
  return id;
}

/** What the editor holds: the shown layout, whether it is an edit, the selection and the status line. */
async function editorState(page, nodeId) {
  return page.evaluate((id) => {
    const view = window.app.graph.getNodeById(id)?.spacetimeBoxEditor;
    if (!view) return null;
    return { shown: view.shown(), edited: !!view.edited, selected: view.selected,
      status: view.dom.status.textContent, stored: window.app.graph.getNodeById(id).widgets
        .find((w) => w.name === 'layout_json').value };
  }, nodeId);
}

/** Waits until the editor shows at least `count` boxes predicted for `text`. */
async function waitForObjects(page, nodeId, count, text) {
  await page.waitForFunction(({ id, n, t }) => {
    const shown = window.app.graph.getNodeById(id)?.spacetimeBoxEditor?.shown();
    return (shown?.objects?.length ?? 0) >= n && shown.text === t;
  }, { id: nodeId, n: count, t: text }, { timeout: 30000 });
  return (await editorState(page, nodeId)).shown;
}

/** Client rectangle of the editor canvas. */
async function canvasBox(page, nodeId) {
  return page.evaluate((id) => {
    const r = window.app.graph.getNodeById(id).spacetimeBoxEditor.dom.canvas.getBoundingClientRect();
    return { x: r.left, y: r.top, width: r.width, height: r.height };
  }, nodeId);
}

async function dragOnCanvas(page, [x0, y0], [x1, y1]) {
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move(x1, y1, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(150);
}

/**
 * Types into the node's prompt textarea with the keyboard, as a user would. Classic mode shows the DOM
 * widget's own textarea; Vue nodes render their own textarea inside the node element.
 */
async function typePrompt(page, nodeId, text) {
  const handle = await page.evaluateHandle((id) => {
    const vue = document.querySelector(`[data-node-id="${id}"] textarea`);
    if (vue) return vue;
    return window.app.graph.getNodeById(id).widgets.find((w) => w.name === 'text').inputEl;
  }, nodeId);
  const area = handle.asElement();
  await area.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text, { delay: 15 });
}

/** The layout_json the node would send if queued now (the frontend's own graphToPrompt). */
async function promptLayoutJson(page, nodeId) {
  return page.evaluate(async (id) => {
    const { output } = await window.app.graphToPrompt();
    return output[String(id)]?.inputs?.layout_json ?? null;
  }, nodeId);
}

module.exports = { loadWorkflow, editorState, waitForObjects, canvasBox, dragOnCanvas, typePrompt,
  promptLayoutJson };
