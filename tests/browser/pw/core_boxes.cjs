// The core box canvas and the pack's box nodes wired as a user would in the real frontend (2026 cores): Create
// Bounding Boxes' elements and bboxes into Boxes to Layout, Layout to Bounding Boxes into Draw BBoxes and into the
// canvas' bboxes. LiteGraph refuses a link between mismatched types, so each link made is a type that fits.
// usage: node core_boxes.cjs URL SHOT
const { openComfy, emit } = require('./common.cjs');

(async () => {
  const [url, shot] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url);
  const result = { errors };
  try {
    result.links = await page.evaluate(() => {
      const graph = window.app.graph;
      graph.clear();
      const add = (type, x, y) => {
        const node = LiteGraph.createNode(type);
        node.pos = [x, y];
        graph.add(node);
        return node;
      };
      const slotOut = (node, name) => node.outputs.findIndex((o) => o.name === name);
      const slotIn = (node, name) => node.inputs.findIndex((i) => i.name === name);
      const link = (from, out, to, input) => {
        const made = from.connect(slotOut(from, out), to, slotIn(to, input));
        return !!made && to.inputs[slotIn(to, input)].link != null;
      };
      const canvas = add('CreateBoundingBoxes', 20, 20);
      const fromElements = add('SpaceTimeBoxesToLayout', 520, 20);
      const fromBoxes = add('SpaceTimeBoxesToLayout', 520, 360);
      const toBoxes = add('SpaceTimeLayoutToBoundingBoxes', 900, 20);
      const draw = add('DrawBBoxes', 1200, 20);
      const canvas2 = add('CreateBoundingBoxes', 1200, 260);
      const encode = add('SpaceTimeRegionPromptEncode', 900, 300);
      window.app.canvas.setDirty(true, true);
      return {
        elements: link(canvas, 'elements', fromElements, 'bboxes'),
        bboxes: link(canvas, 'bboxes', fromBoxes, 'bboxes'),
        layoutOut: link(fromElements, 'layout', toBoxes, 'layout'),
        draw: link(toBoxes, 'bboxes', draw, 'bboxes'),
        intoCanvas: link(toBoxes, 'bboxes', canvas2, 'bboxes'),
        toEncode: link(fromElements, 'layout', encode, 'layout'),
        // a mismatch the frontend must refuse: our layout into Draw BBoxes' image
        refused: !link(fromBoxes, 'layout', draw, 'image'),
      };
    });
    await page.waitForTimeout(500);
    await page.screenshot({ path: shot });
  } catch (err) {
    result.fatal = String(err && err.stack || err);
  }
  emit(result);
  await ctx.close();
})();
