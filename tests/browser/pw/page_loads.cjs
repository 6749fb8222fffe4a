// The real frontend loads with the pack's JS registered and no console errors.
const { openComfy, emit } = require('./common.cjs');

(async () => {
  const [url, shot] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url);
  const info = await page.evaluate(() => ({
    extensions: window.app.extensions.map((e) => e.name),
    nodeTypes: Object.keys(LiteGraph.registered_node_types).filter((t) => t.startsWith('SpaceTime')),
  }));
  await page.screenshot({ path: shot });
  await ctx.close();
  emit({ ...info, errors });
})().catch((err) => { emit({ fatal: String(err && err.stack || err) }); process.exit(1); });
