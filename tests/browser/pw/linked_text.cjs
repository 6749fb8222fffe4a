// Predict Layout with its text linked to a Prompt node (every example workflow): the node's own text widget
// mirrors the Prompt's text (hidden on the classic canvas while linked) and, once the link is removed, holds the
// latest text and can be typed into.
// usage: node linked_text.cjs URL SHOT_PREFIX [classic|vue] WORKFLOW_JSON
const fs = require('fs');
const { openComfy, emit } = require('./common.cjs');
const { loadWorkflow, typePrompt } = require('./editor_helpers.cjs');

const NEW_TEXT = 'a green frog above a yellow boat';
const TYPED = 'a purple owl';

async function textState(page, nodeId) {
  return page.evaluate((id) => {
    const node = window.app.graph.getNodeById(id);
    const widget = node.widgets.find((w) => w.name === 'text');
    const input = node.inputs.find((i) => i.name === 'text');
    const area = document.querySelector(`[data-node-id="${id}"] textarea`);
    return { linked: input?.link != null, hidden: !!widget.hidden, optionsHidden: !!widget.options?.hidden,
      value: widget.value, vueTextarea: area && area.offsetParent !== null ? area.value : null };
  }, nodeId);
}

(async () => {
  const [url, shot, mode = 'classic', workflowPath] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url, { vueNodes: mode === 'vue' });
  const result = { mode, errors };
  try {
    const nodeId = await loadWorkflow(page, JSON.parse(fs.readFileSync(workflowPath, 'utf8')));
    await page.waitForTimeout(500);
    result.vueNodesMode = await page.evaluate(() => !!LiteGraph.vueNodesMode);
    result.sourceText = await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id);
      return node.getInputNode(node.inputs.findIndex((i) => i.name === 'text')).widgets[0].value;
    }, nodeId);
    result.linked = await textState(page, nodeId);
    await page.screenshot({ path: `${shot}-linked.png` });
    // The user edits the Prompt node: the mirror follows.
    await page.evaluate(({ id, text }) => {
      const node = window.app.graph.getNodeById(id);
      const source = node.getInputNode(node.inputs.findIndex((i) => i.name === 'text')).widgets[0];
      source.value = text;
      source.callback?.(text);
    }, { id: nodeId, text: NEW_TEXT });
    await page.waitForTimeout(500);
    result.afterSourceEdit = await textState(page, nodeId);
    await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id);
      node.disconnectInput(node.inputs.findIndex((i) => i.name === 'text'));
      window.app.canvas.setDirty(true, true);
    }, nodeId);
    await page.waitForTimeout(500);
    result.unlinked = await textState(page, nodeId);
    await page.screenshot({ path: `${shot}-unlinked.png` });
    await typePrompt(page, nodeId, TYPED);
    await page.waitForTimeout(300);
    result.afterTyping = await textState(page, nodeId);
  } catch (err) {
    result.fatal = String(err && err.stack || err);
  }
  emit(result);
  await ctx.close();
})();
