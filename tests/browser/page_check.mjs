// Load report pages in headless Chromium and check their layout, through
// the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
// messages ended by NUL on fds 3 and 4), so nothing but node and Debian's
// chromium is needed.
//
//   node page_check.mjs --chromium /usr/bin/chromium --shots DIR PAGE.html...
//
// For each page, at a 1280 x 800 window: nothing overflows horizontally
// (document and every element inside the viewport's width); the verdict
// is in the first screen; the causal chain picture (when the report has a
// root cause) is in the first screen and visible; the timeline picture is
// present, visible and drawn at least at 90% of its size (readable);
// no element loads anything (no resource entries), there is no script;
// every SVG mark has a <title>.  A screenshot of the first screen goes to
// DIR/NAME.png.  Prints one line per page and exits 1 if any check fails,
// 77 if chromium cannot be started.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const args = process.argv.slice(2);
let chromium = '/usr/bin/chromium', shots = null;
const pages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--chromium') chromium = args[++i];
  else if (args[i] === '--shots') shots = args[++i];
  else pages.push(args[i]);
}
const WIDTH = 1280, HEIGHT = 800;

const profile = mkdtempSync(join(tmpdir(), 'strand-chromium-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-extensions', '--disable-dev-shm-usage', '--hide-scrollbars',
  `--user-data-dir=${profile}`, `--window-size=${WIDTH},${HEIGHT}`,
  '--remote-debugging-pipe', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });
browser.on('error', (e) => { console.error(`cannot start ${chromium}: ${e.message}`); cleanup(77); });

const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, buf = Buffer.alloc(0);
const waiting = new Map(), listeners = [];
fromBrowser.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  let nul;
  while ((nul = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, nul).toString('utf8'));
    buf = buf.subarray(nul + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { ok, fail } = waiting.get(msg.id);
      waiting.delete(msg.id);
      msg.error ? fail(new Error(`${msg.error.message}`)) : ok(msg.result);
    } else {
      for (const l of listeners) l(msg);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((ok, fail) => waiting.set(id, { ok, fail }));
}

function once(method, sessionId, timeoutMs = 20000) {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`timeout waiting for ${method}`)), timeoutMs);
    const l = (m) => {
      if (m.method === method && m.sessionId === sessionId) {
        clearTimeout(t);
        listeners.splice(listeners.indexOf(l), 1);
        ok(m.params);
      }
    };
    listeners.push(l);
  });
}

let finished = false;
function cleanup(code) {
  if (finished) return;
  finished = true;
  try { browser.kill('SIGKILL'); } catch { /* gone */ }
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* ignore */ }
  process.exit(code);
}
setTimeout(() => { console.error('page check: overall timeout'); cleanup(1); }, 240000);

// Runs inside the page (the page itself has no script; this is the test's).
const measure = `(() => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const r = { vw, scrollWidth: document.documentElement.scrollWidth, overflowing: [] };
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY' && el.tagName !== 'DETAILS') continue;
    if (el.closest('svg') && el.tagName !== 'svg') continue;
    const b = el.getBoundingClientRect();
    if (b.width > 0 && (b.right > vw + 1 || b.left < -1))
      r.overflowing.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && el.className.baseVal === undefined ? '.' + el.className : '') +
        ' right=' + Math.round(b.right));
  }
  const box = (sel) => {
    const e = document.querySelector(sel);
    if (!e) return null;
    const b = e.getBoundingClientRect(), cs = getComputedStyle(e);
    const vb = e.viewBox && e.viewBox.baseVal;
    return { top: b.top, bottom: b.bottom, width: b.width, height: b.height,
      visible: cs.visibility !== 'hidden' && cs.display !== 'none' && b.width > 0 && b.height > 0,
      scale: vb && vb.width ? b.width / vb.width : 1 };
  };
  r.verdict = box('.verdict');
  r.chain = box('svg.chain');
  r.timeline = box('svg.timeline');
  r.hasRootCause = !!document.getElementById('root-cause');
  r.scripts = document.scripts.length;
  r.resources = performance.getEntriesByType('resource').map((e) => e.name);
  r.untitled = [...document.querySelectorAll('svg.timeline circle, svg.timeline .mark, svg.timeline rect.wait, svg.timeline rect.run, svg.chain a')]
    .filter((e) => !e.querySelector('title')).length;
  r.details = document.querySelectorAll('details').length;
  r.toc = document.querySelectorAll('nav.toc a').length;
  r.vh = vh;
  return JSON.stringify(r);
})()`;

async function checkPage(path) {
  const problems = [];
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  await send('Emulation.setDeviceMetricsOverride',
    { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false }, sessionId);
  const loaded = once('Page.loadEventFired', sessionId);
  await send('Page.navigate', { url: 'file://' + resolve(path) }, sessionId);
  await loaded;
  const { result } = await send('Runtime.evaluate', { expression: measure, returnByValue: true }, sessionId);
  const m = JSON.parse(result.value);
  if (m.scrollWidth > m.vw) problems.push(`page scrolls sideways: ${m.scrollWidth} px > ${m.vw} px`);
  if (m.overflowing.length) problems.push(`elements past the right edge: ${m.overflowing.slice(0, 5).join(', ')}`);
  if (!m.verdict || !m.verdict.visible || m.verdict.bottom > m.vh) problems.push('verdict not in the first screen');
  if (m.hasRootCause) {
    if (!m.chain || !m.chain.visible) problems.push('no visible causal chain picture');
    else if (m.chain.bottom > m.vh) problems.push(`causal chain ends below the first screen (${Math.round(m.chain.bottom)} px)`);
  }
  if (!m.timeline || !m.timeline.visible) problems.push('no visible timeline picture');
  else if (m.timeline.scale < 0.9) problems.push(`timeline drawn at ${m.timeline.scale.toFixed(2)} of its size`);
  if (m.scripts) problems.push(`${m.scripts} script(s)`);
  if (m.resources.length) problems.push(`loads resources: ${m.resources.slice(0, 3).join(', ')}`);
  if (m.untitled) problems.push(`${m.untitled} SVG mark(s) without <title>`);
  if (!m.toc) problems.push('no table of contents');
  if (shots) {
    const shot = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(shots, basename(path).replace(/\.html$/, '') + '.png'), Buffer.from(shot.data, 'base64'));
  }
  const pdf = await send('Page.printToPDF', { printBackground: false }, sessionId);
  if (!pdf.data || pdf.data.length < 1000) problems.push('printing gave no PDF');
  await send('Target.closeTarget', { targetId });
  const info = `chain=${m.chain ? Math.round(m.chain.top) + '..' + Math.round(m.chain.bottom) : 'none'} ` +
    `timeline=${m.timeline ? Math.round(m.timeline.top) + '..' + Math.round(m.timeline.bottom) : 'none'} ` +
    `scrollWidth=${m.scrollWidth} details=${m.details}`;
  return { problems, info };
}

(async () => {
  let failed = 0;
  try {
    await Promise.race([
      send('Browser.getVersion'),
      new Promise((_, fail) => setTimeout(() => fail(new Error('no answer')), 30000)),
    ]);
  } catch (e) {
    console.error(`chromium did not answer on the DevTools pipe: ${e.message}\n${stderr.slice(0, 2000)}`);
    cleanup(77);
    return;
  }
  for (const p of pages) {
    try {
      const { problems, info } = await checkPage(p);
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${basename(p)} ${info}`);
      for (const x of problems) console.log(`     ${x}`);
      if (problems.length) failed++;
    } catch (e) {
      console.log(`FAIL ${basename(p)}: ${e.message}`);
      failed++;
    }
  }
  try { await send('Browser.close'); } catch { /* closing */ }
  cleanup(failed ? 1 : 0);
})();
