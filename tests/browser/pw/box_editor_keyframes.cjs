// The box editor's keyframes as a user meets them: switch to End, drag a box to where it should be at the
// video's last frame, see the start box ghosted and the line saying the layout moves, queue the graph and find
// the end box in the layout the node ran with; rename the moving box to markup (it stays text); in Start a drag
// moves the start box only; Still removes the motion and Undo brings it back.
// usage: node box_editor_keyframes.cjs URL SHOT_PREFIX [classic|vue]
const { openComfy, emit } = require('./common.cjs');
const { loadWorkflow, editorState, canvasBox, dragOnCanvas, promptLayoutJson, typePrompt,
  waitForObjects } = require('./editor_helpers.cjs');

const HOSTILE = '<img src=x onerror=window.__xss=1>';
const PROMPT = 'a red car to the left of a blue dog';
const EDITOR = '[data-testid="spacetime-box-editor"]';

/** The toolbar's keyframe buttons, the Still button and the motion line as the user sees them. */
async function controls(page) {
  return page.evaluate((root) => {
    const el = document.querySelector(root);
    const pressed = (role) => el.querySelector(`button[data-role="${role}"]`).getAttribute('aria-pressed');
    return { start: pressed('keyframe-start'), end: pressed('keyframe-end'),
      still: el.querySelector('button[data-role="still"]').disabled,
      motion: el.querySelector('[data-role="motion"]').textContent };
  }, EDITOR);
}

/** Drags the middle of object i's box (at the shown keyframe) by (dx, dy) fractions of the canvas. */
async function dragBox(page, nodeId, box, dx, dy) {
  const area = await canvasBox(page, nodeId);
  const start = [area.x + ((box[0] + box[2]) / 2) * area.width, area.y + ((box[1] + box[3]) / 2) * area.height];
  await dragOnCanvas(page, start, [start[0] + area.width * dx, start[1] + area.height * dy]);
}

/**
 * Queues the graph and waits for its history entry. A fresh seed first: the server would answer the same graph
 * queued earlier in its session (the other renderer's run) from its cache, which reports no UI output.
 */
async function queueAndWait(page, url, nodeId) {
  await page.evaluate((id) => {
    window.app.graph.getNodeById(id).widgets.find((w) => w.name === 'seed').value = Date.now() % 1000000000;
  }, nodeId);
  const queued = await page.evaluate(async () => window.app.api.queuePrompt(0, await window.app.graphToPrompt()));
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const entry = (await (await fetch(`${url}/history/${queued.prompt_id}`)).json())[queued.prompt_id];
    if (entry?.status?.completed || entry?.status?.status_str === 'error') return entry;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

(async () => {
  const [url, shot, mode = 'classic'] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url, { vueNodes: mode === 'vue' });
  const result = { mode, errors };
  const nodeId = await loadWorkflow(page, null);
  // A preview of the node's drawing, so that the graph has an output and can be queued.
  await page.evaluate((id) => {
    const node = window.app.graph.getNodeById(id);
    const preview = LiteGraph.createNode('PreviewImage');
    preview.pos = [node.pos[0] + node.size[0] + 60, node.pos[1]];
    window.app.graph.add(preview);
    node.connect(1, preview, 0);
  }, nodeId);
  await typePrompt(page, nodeId, PROMPT);
  result.predicted = await waitForObjects(page, nodeId, 2, PROMPT);
  result.controlsAtStart = await controls(page);

  await page.locator(`${EDITOR} button[data-role="keyframe-end"]`).click();
  result.controlsInEnd = await controls(page);
  const car = result.predicted.objects[0].box;
  await dragBox(page, nodeId, car, 0.4, 0.1);
  const afterEnd = await editorState(page, nodeId);
  result.storedAfterEnd = afterEnd.stored;
  result.selectedAfterEnd = afterEnd.selected;
  result.controlsAfterEnd = await controls(page);
  result.promptAfterEnd = await promptLayoutJson(page, nodeId);
  await page.locator(EDITOR).screenshot({ path: `${shot}-end.png` });
  await page.screenshot({ path: `${shot}-end-page.png` });

  const entry = await queueAndWait(page, url, nodeId);
  result.runStatus = entry?.status?.status_str ?? null;
  result.ranWith = entry?.outputs?.[String(nodeId)]?.spacetime_layout?.[0] ?? null;

  // The moving box renamed to markup: the name shows in the motion line and on the canvas as text only.
  const name = page.locator(`${EDITOR} input[data-role="name"]`);
  await name.fill(HOSTILE);
  await name.press('Enter');
  await page.waitForTimeout(300);
  result.motionAfterRename = (await controls(page)).motion;
  result.xss = await page.evaluate(() => ({ flag: window.__xss === undefined ? null : window.__xss,
    imgs: document.querySelectorAll('img[src="x"]').length }));
  await page.locator(EDITOR).screenshot({ path: `${shot}-renamed.png` });

  // Back in Start, a drag moves the start box and leaves the end box where it is.
  await page.locator(`${EDITOR} button[data-role="keyframe-start"]`).click();
  result.controlsBackAtStart = await controls(page);
  await dragBox(page, nodeId, car, 0.0, -0.1);
  result.storedAfterStartDrag = (await editorState(page, nodeId)).stored;
  await page.locator(EDITOR).screenshot({ path: `${shot}-start.png` });

  // Still removes the selected object's motion; Undo brings it back.
  await page.locator(`${EDITOR} button[data-role="still"]`).click();
  await page.waitForTimeout(200);
  result.storedAfterStill = (await editorState(page, nodeId)).stored;
  result.controlsAfterStill = await controls(page);
  await page.locator(`${EDITOR} button[data-role="undo"]`).click();
  await page.waitForTimeout(200);
  result.storedAfterUndo = (await editorState(page, nodeId)).stored;
  await ctx.close();
  emit(result);
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
