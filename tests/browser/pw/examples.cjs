// Loads every example workflow of the pack the way Browse Templates does (from /api/workflow_templates),
// and reports per workflow: missing node types, dialogs shown, what the box editor shows, and the API
// prompt the frontend would queue (for comparing with the Python converter).
// usage: node examples.cjs URL MODULE SHOT_DIR [classic|vue]
const path = require('path');
const { openComfy, emit } = require('./common.cjs');

(async () => {
  const [url, moduleName, shotDir, mode = 'classic'] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url, { vueNodes: mode === 'vue' });
  const listing = await page.evaluate(async () => (await window.app.api.fetchApi('/workflow_templates')).json());
  const names = listing[moduleName] || [];
  const workflows = {};
  for (const name of names) {
    const info = await page.evaluate(async ({ mod, name }) => {
      const resp = await window.app.api.fetchApi(`/workflow_templates/${mod}/${name}.json`);
      const wf = await resp.json();
      await window.app.loadGraphData(wf, true, true, name);
      const missing = wf.nodes.map((n) => n.type).filter((t) => !(t in LiteGraph.registered_node_types));
      return { missing, nodes: wf.nodes.length };
    }, { mod: moduleName, name });
    // Let the editor predict for the linked prompt, then see what a user sees.
    await page.waitForFunction(() => {
      const node = window.app.graph._nodes.find((n) => n.type === 'SpaceTimePredictLayout');
      return (node?.spacetimeBoxEditor?.shown()?.objects?.length ?? 0) > 0;
    }, null, { timeout: 30000 }).catch(() => {});
    info.dialogs = await page.evaluate(() => [...document.querySelectorAll('.p-dialog')]
      .filter((d) => d.offsetParent !== null).map((d) => d.textContent.slice(0, 200)));
    info.editor = await page.evaluate(() => {
      const view = window.app.graph._nodes.find((n) => n.type === 'SpaceTimePredictLayout')?.spacetimeBoxEditor;
      return view ? { objects: view.shown()?.objects?.map((o) => o.phrase) ?? [],
        status: view.dom.status.textContent } : null;
    });
    info.prompt = await page.evaluate(async () => (await window.app.graphToPrompt()).output);
    await page.screenshot({ path: path.join(shotDir, `example-${name}-${mode}.png`) });
    workflows[name] = info;
  }
  await ctx.close();
  emit({ names, workflows, errors });
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
