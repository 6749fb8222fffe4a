// Where a user finds the pack's templates: the Templates dialog (sidebar "Templates", command
// Comfy.BrowseTemplates), Extensions > spacetime_attention; reads the card titles shown.
// usage: node templates.cjs URL SHOT
const { openComfy, emit } = require('./common.cjs');

(async () => {
  const [url, shot] = process.argv.slice(2);
  const { ctx, page, errors } = await openComfy(url);
  const result = { errors };
  try {
    await page.getByRole('button', { name: 'Templates', exact: true }).first().click();
    const dialog = page.locator('[role=dialog]');
    await dialog.getByText('spacetime_attention', { exact: true }).first().click();
    await page.waitForTimeout(2000);
    await page.screenshot({ path: shot });
    result.texts = await page.evaluate(() => [...document.querySelectorAll('[role=dialog] *')]
      .filter((e) => e.children.length === 0).map((e) => e.textContent.trim()).filter(Boolean));
    result.thumbnails = await page.evaluate(() => [...document.querySelectorAll('[role=dialog] img')]
      .map((img) => ({ src: img.src, loaded: img.complete && img.naturalWidth > 0 })));
  } catch (err) {
    result.fatal = String(err && err.stack || err);
  }
  emit(result);
  await ctx.close();
})();
