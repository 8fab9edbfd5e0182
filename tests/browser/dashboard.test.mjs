// Browser test of the dashboard: Debian's chromium driven by playwright-core (no downloaded
// browser). Starts `hlsforge serve` on a temp data folder, uploads two generated clips through
// the page, waits until they are ready, plays one (currentTime advances >= 3 s without an
// hls.js error), switches quality and sees the rung change, then switches tracks in the catalog
// player. Screenshots of each page go to the artifacts folder.
//   node dashboard.test.mjs <hlsforge binary> <artifacts dir> [web root]
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [bin, artifacts = path.join(os.tmpdir(), 'hlsforge-browser-artifacts'),
  webRoot = path.resolve(here, '../../web/dist')] = process.argv.slice(2);
if (!bin) { console.error('usage: dashboard.test.mjs <hlsforge> <artifacts> [web root]'); process.exit(2); }
if (!fs.existsSync(path.join(webRoot, 'index.html'))) {
  console.error(`FAIL: no dashboard build in ${webRoot} (run web/build.sh)`);
  process.exit(1);
}
fs.mkdirSync(artifacts, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hlsforge-browser-'));
// HLSFORGE_BROWSER_BASE points the test at a running service (the distributed stack's nginx);
// otherwise it starts its own `hlsforge serve`.
const EXTERNAL = process.env.HLSFORGE_BROWSER_BASE;
const TOKEN = process.env.HLSFORGE_BROWSER_TOKEN || 'test';
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function clip(name, w, h, secs, hue) {
  const out = path.join(tmp, name);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    `testsrc2=size=${w}x${h}:rate=25:duration=${secs},hue=h=${hue}`, '-f', 'lavfi', '-i',
    `sine=frequency=440:duration=${secs}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', out]);
  return out;
}

let server, context, failed = false, out = '';
async function main() {
  const a = clip('first clip.mp4', 1280, 720, 6, 0);
  const b = clip('second clip.mp4', 1280, 720, 6, 120);
  const base = EXTERNAL ? EXTERNAL : await startServer();
  log('server at', base);
  await run(base, a, b);
}

async function startServer() {
  server = spawn(bin, ['serve', '--data', path.join(tmp, 'data'), '--port', '0', '--api-token', TOKEN,
    '--poll-interval', '0.2', '--max-cpu', '100', '--workers', '2', '--web-root', webRoot],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { out += d; });
  server.stderr.on('data', (d) => { out += d; });
  const base = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('serve did not start:\n' + out)), 20000);
    const iv = setInterval(() => {
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\/api\/videos/);
      if (m) { clearTimeout(t); clearInterval(iv); resolve(`http://127.0.0.1:${m[1]}/`); }
    }, 100);
  });
  return base;
}

async function run(base, a, b) {

  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => { log('page error:', e.message); failed = true; });
  await page.goto(base);
  await page.fill('#token', TOKEN);
  await page.dispatchEvent('#token', 'change');

  // Upload both clips through the page (file input; drag and drop uses the same path).
  for (const f of [a, b]) {
    await page.setInputFiles('#file', f);
    await page.waitForFunction((n) => document.querySelector('#upload-status')?.textContent?.includes('uploaded ' + n),
      path.basename(f), { timeout: 60000 });
    log('uploaded', path.basename(f));
  }
  await page.screenshot({ path: path.join(artifacts, '1-upload.png') });
  // Wait for the two clips uploaded here (the service may hold other videos too).
  const mine = [path.basename(a), path.basename(b)];
  await page.waitForFunction((ns) => ns.every((n) => [...document.querySelectorAll('#videos tr[data-state="ready"]')]
    .some((tr) => tr.textContent.includes(n))), mine, { timeout: 240000, polling: 500 });
  log('both ready (seen live on the page)');
  await page.screenshot({ path: path.join(artifacts, '2-videos.png'), fullPage: true });

  // Player: the first clip.
  const id = await page.evaluate((n) => [...document.querySelectorAll('#videos tr[data-state="ready"]')]
    .find((tr) => tr.textContent.includes(n)).dataset.id, mine[0]);
  await page.goto(`${base}#/player/${id}`);
  await page.waitForFunction(() => document.querySelectorAll('#quality option').length >= 3, null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelector('video').currentTime >= 3, null, { timeout: 30000 });
  const errors = await page.evaluate(() => window.__playerErrors);
  if (errors.some((e) => e.endsWith('/true'))) throw new Error('hls.js fatal error: ' + errors.join(', '));
  log('played to', await page.evaluate(() => document.querySelector('video').currentTime), 'errors:', errors.length);
  // Switch quality to a rung other than the one playing and see it change.
  const now = await page.$eval('#playing', (e) => e.dataset.level);
  const target = now === '0' ? '1' : '0';
  await page.selectOption('#quality', target);
  await page.waitForFunction((t) => document.querySelector('#playing').dataset.level === t, target, { timeout: 30000 });
  log('quality switched from level', now, 'to', target, await page.$eval('#playing', (e) => e.textContent));
  await page.screenshot({ path: path.join(artifacts, '3-player.png'), fullPage: true });

  // Catalog player: two tracks by name; switch between them without reloading.
  await page.goto(`${base}#/catalog`);
  await page.evaluate(() => { window.__noReload = true; });
  await page.waitForFunction(() => document.querySelectorAll('#tracks button').length >= 2, null, { timeout: 30000 });
  const names = await page.$$eval('#tracks button', (bs) => bs.map((b) => b.dataset.name));
  if (!names.includes('first clip.mp4') || !names.includes('second clip.mp4')) throw new Error('tracks: ' + names);
  for (const name of ['second clip.mp4', 'first clip.mp4']) {
    await page.click(`#tracks button[data-name="${name}"]`);
    await page.waitForFunction((n) => document.querySelector('#track').textContent === n, name, { timeout: 30000 });
    const t0 = await page.evaluate(() => document.querySelector('video').currentTime);
    await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 0.5, t0, { timeout: 20000 });
    log('catalog track playing:', name);
  }
  if (!(await page.evaluate(() => window.__noReload))) throw new Error('page reloaded on track switch');
  const cerr = await page.evaluate(() => window.__playerErrors);
  if (cerr.some((e) => e.endsWith('/true'))) throw new Error('catalog fatal error: ' + cerr.join(', '));
  await page.screenshot({ path: path.join(artifacts, '4-catalog.png'), fullPage: true });

  // Catalog change: delete the other video; the list updates via SSE, the player reloads the
  // manifest and keeps the current track ("first clip.mp4").
  const other = await page.evaluate(async (tok) => {
    const j = await (await fetch('api/videos?q=second')).json();
    const id = j.items[0].id;
    const r = await fetch(`api/videos/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${tok}` } });
    return r.status;
  }, TOKEN);
  if (other !== 200) throw new Error('delete answered ' + other);
  await page.waitForFunction(() => {
    const ns = [...document.querySelectorAll('#tracks button')].map((b) => b.dataset.name);
    return !ns.includes('second clip.mp4') && ns.includes('first clip.mp4');
  }, null, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#track').textContent === 'first clip.mp4' &&
    document.querySelector('#tracks button.current')?.dataset.name === 'first clip.mp4', null, { timeout: 30000 });
  const t1 = await page.evaluate(() => document.querySelector('video').currentTime);
  await page.waitForFunction((t) => document.querySelector('video').currentTime > t + 0.5, t1, { timeout: 20000 });
  if (!(await page.evaluate(() => window.__noReload))) throw new Error('page reloaded on catalog change');
  log('catalog change: track list updated, current track kept');
  await page.screenshot({ path: path.join(artifacts, '5-catalog-after-delete.png'), fullPage: true });
  if (failed) throw new Error('page errors (see above)');
  log('PASS');
}

main().then(() => 0, (e) => { console.error('FAIL:', e.message, '\n---- serve log (tail) ----\n' + out.slice(-4000)); return 1; }).then(async (code) => {
  await context?.close().catch(() => {});
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
});
