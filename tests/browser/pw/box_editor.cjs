// The box editor as a user meets it: type a prompt, see boxes, drag and resize one, undo, rename with a
// hostile name, check the queued API prompt carries the edit, reload and find the edit again.
// usage: node box_editor.cjs URL SHOT_PREFIX [classic|vue] [WORKFLOW_JSON]
const fs = require('fs');
const { openComfy, emit } = require('./common.cjs');
const { loadWorkflow, editorNode, editorState, canvasBox, dragOnCanvas, promptLayoutJson, typePrompt,
  waitForObjects } = require('./editor_helpers.cjs');

const HOSTILE = '<img src=x onerror=window.__xss=1>';
const PROMPT = 'a cat to the left of a dog';
const PREDICT_ROUTE = '/spacetime/layout/predict';

(async () => {
  const [url, shot, mode = 'classic', workflowPath] = process.argv.slice(2);
  const vueNodes = mode === 'vue';
  const { ctx, page, errors } = await openComfy(url, { vueNodes });
  const result = { mode, errors };
  const workflow = workflowPath ? JSON.parse(fs.readFileSync(workflowPath, 'utf8')) : null;
  const nodeId = await loadWorkflow(page, workflow);
  const editorIds = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith(PREDICT_ROUTE)) editorIds.push(JSON.parse(req.postData()).editor);
  });
  result.vueNodesMode = await page.evaluate(() => !!LiteGraph.vueNodesMode);

  await typePrompt(page, nodeId, PROMPT);
  result.predicted = await waitForObjects(page, nodeId, 2, PROMPT);
  await page.screenshot({ path: `${shot}-predicted.png` });

  const nodePosBefore = await page.evaluate((id) => [...app.graph.getNodeById(id).pos], nodeId);
  result.nodeCount = await page.evaluate(() => app.graph._nodes.length);
  // Drag the first box right and down by a quarter of the canvas, then grow it from its bottom-right handle.
  const area = await canvasBox(page, nodeId);
  const first = result.predicted.objects[0].box;
  const start = [area.x + ((first[0] + first[2]) / 2) * area.width, area.y + ((first[1] + first[3]) / 2) * area.height];
  await dragOnCanvas(page, start, [start[0] + area.width * 0.1, start[1] + area.height * 0.1]);
  const moved = (await editorState(page, nodeId)).shown.objects[0].box;
  const corner = [area.x + moved[2] * area.width, area.y + moved[3] * area.height];
  await dragOnCanvas(page, corner, [corner[0] + area.width * 0.05, corner[1] + area.height * 0.05]);
  const afterEdits = await editorState(page, nodeId);
  result.moved = moved;
  result.resized = afterEdits.shown.objects[0].box;
  result.nodePosUnchanged = JSON.stringify(nodePosBefore)
    === JSON.stringify(await page.evaluate((id) => [...app.graph.getNodeById(id).pos], nodeId));
  result.promptAfterEdit = await promptLayoutJson(page, nodeId);
  await page.screenshot({ path: `${shot}-edited.png` });

  // Ctrl+Z inside the widget undoes the resize only (and not the graph).
  // A graph-level undo would reload the graph and so replace the node object: mark it to tell.
  await page.evaluate((id) => { app.graph.getNodeById(id).__sameNode = true; }, nodeId);
  await page.keyboard.press('Control+z');
  await page.waitForTimeout(300);
  result.afterUndo = (await editorState(page, nodeId)).shown.objects[0].box;
  result.nodeCountAfterUndo = await page.evaluate(() => app.graph._nodes.length);
  result.graphNotReloaded = await page.evaluate((id) => app.graph.getNodeById(id).__sameNode === true, nodeId);

  // Rename the selected box to markup: it must stay text.
  const name = page.locator('[data-testid="spacetime-box-editor"] input[data-role="name"]');
  await name.fill(HOSTILE);
  await name.press('Enter');
  await page.waitForTimeout(300);
  result.renamed = (await editorState(page, nodeId)).shown.objects[0].phrase;
  result.xss = await page.evaluate(() => ({ flag: window.__xss === undefined ? null : window.__xss,
    imgs: document.querySelectorAll('img[src="x"]').length }));
  result.promptAfterRename = await promptLayoutJson(page, nodeId);
  await page.screenshot({ path: `${shot}-renamed.png` });
  result.editorIdsBeforeReload = [...new Set(editorIds)];

  // The edit is part of the workflow: it survives a reload of the page.
  await page.waitForTimeout(1200); // the workflow is persisted on change; give it a moment
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.app && window.app.graph && window.app.graph._nodes.length > 0, null,
    { timeout: 90000 });
  await page.waitForTimeout(1500);
  result.afterReload = await promptLayoutJson(page, nodeId);
  result.shownAfterReload = (await editorState(page, nodeId))?.shown;
  await page.screenshot({ path: `${shot}-reloaded.png` });

  // The server refuses a prediction as superseded (409) or busy (503): only the second is news for the user.
  // The browser itself logs each refused request as a console error; those lines are returned apart.
  const errorsBeforeRefusals = errors.length;
  for (const [status, error] of [[409, 'superseded by a newer request from the same editor'],
    [503, 'the layout predictor is busy (16 requests waiting); try again']]) {
    let answered;
    const hit = new Promise((resolve) => { answered = resolve; });
    await page.route(`**${PREDICT_ROUTE}`, async (route) => {
      const body = JSON.stringify({ error, field: 'editor' });
      await route.fulfill({ status, contentType: 'application/json', body });
      answered();
    });
    await typePrompt(page, nodeId, `a bird above a tree ${status}`);
    await Promise.race([hit, page.waitForTimeout(10000)]);
    await page.waitForTimeout(300);
    result[`statusAfter${status}`] = (await editorState(page, nodeId)).status;
    await page.unroute(`**${PREDICT_ROUTE}`);
  }
  result.refusalLogs = errors.splice(errorsBeforeRefusals);
  result.editorIdsAfterReload = [...new Set(editorIds)].filter((id) => !result.editorIdsBeforeReload.includes(id));
  await ctx.close();
  emit(result);
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
