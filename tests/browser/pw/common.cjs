// Shared Playwright setup for the browser tier: Debian chromium, the real ComfyUI page, console capture.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

// Known noise on a fresh profile (see docs/testing.md): ComfyUI 0.3.75 / frontend 1.32.9, and ComfyUI 0.33.0 /
// frontend 1.49.6, which logs "ComfyApp graph accessed before initialization" from its own start-up (also with
// --disable-all-custom-nodes).
const ALLOWED = [
  /userdata/, /user\.css/, /comfy\.templates\.json/, /reading 'id'/, /Content Security Policy/,
  /Failed to load resource: net::ERR_/, /favicon/, /api\.comfy\.org/, /status of 404/,
  /^ComfyApp graph accessed before initialization$/,
];

async function setSettings(url, values) {
  const resp = await fetch(`${url}/api/settings`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(values),
  });
  if (!resp.ok) throw new Error(`POST /api/settings answered ${resp.status}`);
}

async function openComfy(url, { vueNodes = false, settings = {} } = {}) {
  const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'pw-')), {
    executablePath: process.env.SPACETIME_CHROMIUM || '/usr/bin/chromium',
    headless: true, viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !ALLOWED.some((re) => re.test(msg.text()))) errors.push(msg.text());
  });
  page.on('pageerror', (err) => { if (!ALLOWED.some((re) => re.test(String(err)))) errors.push(String(err)); });
  // Settings live on the server (user/default/comfy.settings.json), not in localStorage: set the renderer
  // for this page and mark the tutorial done so the Templates dialog does not cover the graph.
  await setSettings(url, { 'Comfy.TutorialCompleted': true, 'Comfy.VueNodes.Enabled': !!vueNodes, ...settings });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.app && window.app.graph && window.app.extensionManager, null,
    { timeout: 90000 });
  await page.waitForTimeout(1500);
  await page.keyboard.press('Escape');
  return { ctx, page, errors };
}

function emit(result) {
  process.stdout.write('\nRESULT ' + JSON.stringify(result) + '\n');
}

module.exports = { openComfy, setSettings, emit };
