// A new user's first run: load the main example, see the predicted boxes, move one, queue, get an image.
// The user's checkpoint is swapped for the test checkpoint and the graph made small (64 px, 2 steps) so a CPU
// finishes it; everything else is the example as shipped.
// usage: node queue_example.cjs URL WORKFLOW_JSON CKPT_NAME SHOT [classic|vue]
const fs = require('fs');
const { openComfy, emit } = require('./common.cjs');
const { loadWorkflow, editorState, canvasBox, dragOnCanvas, promptLayoutJson } = require('./editor_helpers.cjs');

(async () => {
  const [url, workflowPath, ckpt, shot, mode = 'classic'] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url, { vueNodes: mode === 'vue' });
  const result = { mode, errors };
  const nodeId = await loadWorkflow(page, JSON.parse(fs.readFileSync(workflowPath, 'utf8')));
  await page.waitForFunction((id) => (window.app.graph.getNodeById(id)?.spacetimeBoxEditor?.shown()?.objects
    ?.length ?? 0) > 0, nodeId, { timeout: 30000 });
  const before = (await editorState(page, nodeId)).shown.objects[0].box;
  const area = await canvasBox(page, nodeId);
  const start = [area.x + ((before[0] + before[2]) / 2) * area.width, area.y + ((before[1] + before[3]) / 2) * area.height];
  await dragOnCanvas(page, start, [start[0] + area.width * 0.08, start[1] - area.height * 0.1]);
  result.before = before;
  result.moved = (await editorState(page, nodeId)).shown.objects[0].box;
  result.sentLayout = await promptLayoutJson(page, nodeId);

  await page.evaluate((name) => {
    for (const node of window.app.graph._nodes) {
      const set = (w, v) => { const widget = node.widgets?.find((x) => x.name === w); if (widget) widget.value = v; };
      if (node.type === 'CheckpointLoaderSimple') set('ckpt_name', name);
      if (node.type === 'EmptyLatentImage') { set('width', 64); set('height', 64); }
      if (node.type === 'KSampler') set('steps', 2);
    }
  }, ckpt);
  const queued = await page.evaluate(async () => (await window.app.api.queuePrompt(0, await window.app.graphToPrompt())));
  result.promptId = queued.prompt_id;
  const deadline = Date.now() + 240000;
  let entry = null;
  while (Date.now() < deadline) {
    const history = await (await fetch(`${url}/history/${queued.prompt_id}`)).json();
    entry = history[queued.prompt_id];
    if (entry?.status?.completed || entry?.status?.status_str === 'error') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  result.status = entry?.status?.status_str ?? null;
  result.images = Object.values(entry?.outputs ?? {}).flatMap((o) => o.images ?? []);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: shot });
  result.shownAfterRun = (await editorState(page, nodeId)).shown;
  await ctx.close();
  emit(result);
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
