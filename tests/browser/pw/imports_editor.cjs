// Layouts imported from elsewhere, edited in the box editor, as a user wires them in the real frontend:
// Layout from LLM Text -> Predict Layout's `layout` input, and an L-shaped MASK (core mask nodes) -> Masks to
// Layout -> a second Predict Layout. Before a run each editor says its layout comes from the link; after the run
// it shows the imported boxes (the mask as a silhouette, its empty corner left out); a drag stores the edit with
// the mask; a second run uses and shows the edit.
// usage: node imports_editor.cjs URL SHOT
const { openComfy, emit } = require('./common.cjs');
const { editorState, canvasBox, dragOnCanvas } = require('./editor_helpers.cjs');

const LLM_ANSWER = '```json\n[{"label": "a blue dog", "box": [0.5, 0.25, 1.0, 0.75]}]\n```';

async function queueAndWait(page, url) {
  const queued = await page.evaluate(async () => window.app.api.queuePrompt(0, await window.app.graphToPrompt()));
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const entry = (await (await fetch(`${url}/history/${queued.prompt_id}`)).json())[queued.prompt_id];
    if (entry?.status?.completed || entry?.status?.status_str === 'error') {
      await page.waitForTimeout(500);
      return entry.status.status_str;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return 'timeout';
}

/** Colour of the editor canvas at a normalised point (device pixels read back from the 2D context). */
async function pixelAt(page, nodeId, [x, y]) {
  return page.evaluate(({ id, px, py }) => {
    const canvas = window.app.graph.getNodeById(id).spacetimeBoxEditor.dom.canvas;
    const data = canvas.getContext('2d').getImageData(Math.floor(px * canvas.width), Math.floor(py * canvas.height),
      1, 1).data;
    return Array.from(data.slice(0, 3));
  }, { id: nodeId, px: x, py: y });
}

async function dragBox(page, nodeId, index, dx) {
  const box = (await editorState(page, nodeId)).shown.objects[index].box;
  const area = await canvasBox(page, nodeId);
  // grab the box near its top-left corner, inside the bar of the L
  const start = [area.x + (box[0] + 0.03) * area.width, area.y + (box[1] + 0.1) * area.height];
  await dragOnCanvas(page, start, [start[0] + dx * area.width, start[1]]);
}

(async () => {
  const [url, shot] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url);
  const result = { errors };
  try {
    const ids = await page.evaluate((answer) => {
      const graph = window.app.graph;
      graph.clear();
      const add = (type, x, y, values = {}) => {
        const node = LiteGraph.createNode(type);
        node.pos = [x, y];
        graph.add(node);
        for (const [name, value] of Object.entries(values)) node.widgets.find((w) => w.name === name).value = value;
        return node;
      };
      const link = (from, out, to, input) => from.connect(from.outputs.findIndex((o) => o.name === out), to,
        to.inputs.findIndex((i) => i.name === input));
      const show = (layoutNode, x, y, shape) => {
        const masks = add('SpaceTimeLayoutToMasks', x, y, { shape });
        const image = add('MaskToImage', x, y + 260);
        const preview = add('PreviewImage', x, y + 340);
        link(layoutNode, 'layout', masks, 'layout');
        link(masks, 'masks', image, 'mask');
        link(image, 'IMAGE', preview, 'images');
      };
      const llm = add('SpaceTimeLayoutFromText', 20, 20, { text: answer, width: 128, height: 128 });
      const fromLlm = add('SpaceTimePredictLayout', 400, 20, { text: '', width: 128, height: 128 });
      link(llm, 'layout', fromLlm, 'layout');
      show(fromLlm, 900, 20, 'box');
      const blank = add('SolidMask', 20, 760, { value: 0, width: 128, height: 128 });
      const bar = add('SolidMask', 20, 900, { value: 1, width: 16, height: 64 });
      const foot = add('SolidMask', 20, 1040, { value: 1, width: 48, height: 16 });
      const withBar = add('MaskComposite', 250, 760, { x: 16, y: 16, operation: 'add' });
      const lShape = add('MaskComposite', 250, 960, { x: 16, y: 64, operation: 'add' });
      link(blank, 'MASK', withBar, 'destination');
      link(bar, 'MASK', withBar, 'source');
      link(withBar, 'MASK', lShape, 'destination');
      link(foot, 'MASK', lShape, 'source');
      const fromMasks = add('SpaceTimeMasksToLayout', 500, 760, { names: 'a red cat' });
      link(lShape, 'MASK', fromMasks, 'masks');
      const edited = add('SpaceTimePredictLayout', 800, 760, { text: '', width: 128, height: 128 });
      link(fromMasks, 'layout', edited, 'layout');
      show(edited, 1300, 760, 'mask');
      const ds = window.app.canvas.ds;
      ds.scale = 1;
      ds.offset = [120 - edited.pos[0], 140 - edited.pos[1]];
      window.app.canvas.setDirty(true, true);
      return { llm: fromLlm.id, masks: edited.id };
    }, LLM_ANSWER);
    await page.waitForFunction((id) => window.app.graph.getNodeById(id)?.spacetimeBoxEditor?.cssSize, ids.masks,
      { timeout: 30000 });
    result.statusBeforeRun = (await editorState(page, ids.masks)).status;
    result.firstRun = await queueAndWait(page, url);
    result.llmShown = (await editorState(page, ids.llm)).shown;
    result.maskShown = (await editorState(page, ids.masks)).shown;
    // the L spans box x 16..64, y 16..80 of 128: its bar (x 20) is drawn, its empty corner (x 50, y 30) is not
    result.barPixel = await pixelAt(page, ids.masks, [20 / 128, 40 / 128]);
    result.cornerPixel = await pixelAt(page, ids.masks, [50 / 128, 30 / 128]);
    result.backgroundPixel = await pixelAt(page, ids.masks, [100 / 128, 110 / 128]);
    await dragBox(page, ids.masks, 0, 0.375);
    ({ stored: result.stored, status: result.statusAfterEdit } = await editorState(page, ids.masks));
    result.secondRun = await queueAndWait(page, url);
    result.shownAfterSecondRun = (await editorState(page, ids.masks)).shown;
    await page.screenshot({ path: shot });
  } catch (err) {
    result.fatal = String(err && err.stack || err);
  }
  emit(result);
  await ctx.close();
})();
