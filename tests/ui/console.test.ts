/**
 * The dashboard's Console and Cron tabs in Chromium against a real hiy and the real engine: a
 * command typed into the browser terminal (xterm.js served by hiy) runs in a one-off container of
 * the current release and its output appears; the session is audited as "dashboard"; closing the
 * tab removes the container. The console's WebSocket is refused without the session, from another
 * Origin, or without the page's CSRF token. The Cron tab lists app.json's jobs and runs one now.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import type { RunDetail, RunView } from '../../src/contract.js';
import { shoot, signedInBrowser } from '../helpers/browser.js';
import { setPassword } from './dashboard-app.js';
import { waitFor as until } from '../helpers/observe.js';

const APP = `con-${randomBytes(3).toString('hex')}`;
const PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
// Never due within the test: the Cron tab shows it and runs it on request only.
const JOB = { command: 'echo "cron says $(cat /www/version.txt)"', schedule: '0 0 1 1 *' };



/** Opens the console's WebSocket as a script would; resolves with the HTTP status of a refusal, or 101. */
function openSocket(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); ws.terminate(); });
    ws.on('open', () => { resolve(101); ws.terminate(); });
    ws.on('error', (err) => reject(err));
  });
}

describe('dashboard console and cron tab in Chromium', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let wc: WorkingCopy;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;

  const runs = async (kind = 'run,console'): Promise<RunView[]> => (await api('GET', `/apps/${APP}/runs?kind=${kind}`)).body.runs;
  const oneOffContainers = async () => (await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`, '--filter', 'label=hiy.process=run'])).stdout.trim();
  /** The terminal's visible text (xterm's DOM rows). */
  const screen = (p: Page) => p.locator('.console-screen .xterm-rows').innerText();

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    const pw = await setPassword(hiy, PASSWORD);
    assert.equal(pw.code, 0, pw.out);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080 })).status, 201);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('www/version.txt', 'v1\n');
    wc.write('app.json', `${JSON.stringify({ cron: [JOB] }, null, 2)}\n`);
    await wc.commit('v1 with a cron job');
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    ({ browser, ctx, page } = await signedInBrowser(hiy.url, PASSWORD));
  });

  after(async () => {
    await browser?.close();
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('a command typed into the console runs in the app\'s release and its output appears', async () => {
    await page.goto(`${hiy.url}/apps/${APP}/console`);
    // xterm.js comes from hiy itself (its npm package), not a CDN; the page's CSP allows only 'self'.
    const scripts = await page.locator('script[src]').evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).src));
    assert.ok(scripts.some((s) => /\/assets\/xterm\.[\d.]+\.js$/.test(s)), scripts.join(' '));
    assert.ok(scripts.every((s) => s.startsWith(hiy.url)), scripts.join(' '));
    const cspErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });

    await page.fill('#console-command', 'sh');
    await page.click('.console form button[type=submit]');
    await page.locator('.console[data-run]').waitFor({ timeout: 30_000 });
    await page.locator('.console-screen .xterm-helper-textarea').focus();
    await page.keyboard.type('echo "answer-$((6*7)) $(cat /www/version.txt) $(stty size)"\n');
    await until('the command\'s output in the terminal', async () => /answer-42 v1 \d+ \d+/.test(await screen(page)), 20_000);
    assert.match(await page.locator('.console-status').innerText(), /Running \(run #\d+, release v1\)/);
    await shoot(page, 'console');

    await page.keyboard.type('exit 5\n');
    await page.locator('.console[data-exit]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('.console').getAttribute('data-exit'), '5');
    assert.match(await page.locator('.console-status').innerText(), /Exited with code 5/);
    assert.deepEqual(cspErrors.filter((e) => /Content Security Policy/i.test(e)), [], 'xterm.js styles pass the CSP');

    const run = (await runs()).find((r) => r.kind === 'console')!;
    assert.ok(run, 'the console session is in the audit');
    assert.equal(run.by, 'dashboard');
    assert.equal(run.command, 'sh');
    assert.equal(run.mode, 'tty');
    assert.equal(run.status, 'exited');
    assert.equal(run.exit_code, 5);
    assert.equal(await oneOffContainers(), '', 'the container is gone');
  });

  test('closing the tab ends the session and removes its container', async () => {
    const p = await ctx.newPage();
    await p.goto(`${hiy.url}/apps/${APP}/console`);
    await p.fill('#console-command', 'sh');
    await p.click('.console form button[type=submit]');
    await p.locator('.console[data-run]').waitFor({ timeout: 30_000 });
    const id = Number(await p.locator('.console').getAttribute('data-run'));
    assert.notEqual(await oneOffContainers(), '', 'the session has a container');
    await p.close();
    const ended = await until('the session to be recorded as ended', async () => (await runs()).find((r) => r.id === id && r.status !== 'running'));
    assert.equal(ended.reason, 'the client went away');
    await until('its container to be gone', async () => (await oneOffContainers()) === '', 20_000);
  });

  test('the console socket needs the session, the dashboard\'s Origin and the page\'s CSRF token', async () => {
    await page.goto(`${hiy.url}/apps/${APP}/console`);
    const csrf = await page.locator('.console').getAttribute('data-csrf');
    assert.ok(csrf);
    const cookie = (await ctx.cookies()).filter((c) => c.name.includes('session')).map((c) => `${c.name}=${c.value}`).join('; ');
    assert.ok(cookie);
    const url = (q: string) => `${hiy.url.replace(/^http/, 'ws')}/apps/${APP}/console/socket?cmd=true&${q}`;
    const before = (await runs()).length;
    assert.equal(await openSocket(url(`csrf=${encodeURIComponent(csrf)}`), { cookie, origin: 'http://evil.example' }), 403, 'another Origin');
    assert.equal(await openSocket(url(`csrf=${encodeURIComponent(csrf)}`), { cookie }), 403, 'no Origin');
    assert.equal(await openSocket(url('csrf=wrong'), { cookie, origin: hiy.url }), 403, 'a wrong CSRF token');
    const anon = await openSocket(url(`csrf=${encodeURIComponent(csrf)}`), { origin: hiy.url });
    assert.ok(anon === 401 || anon === 303 || anon === 302, `no session: ${anon}`);
    assert.equal((await runs()).length, before, 'no refused socket started a run');
    // The same request from the page's own Origin with its token opens.
    assert.equal(await openSocket(url(`csrf=${encodeURIComponent(csrf)}`), { cookie, origin: hiy.url }), 101);
    await until('the accepted socket\'s run to end', async () => (await runs()).every((r) => r.status !== 'running'));
  });

  test('the Cron tab lists app.json\'s jobs and runs one now', async () => {
    await page.goto(`${hiy.url}/apps/${APP}/cron`);
    const row = page.locator('#cron-jobs tbody tr');
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('td[data-label="Schedule"]').innerText(), JOB.schedule);
    assert.equal(await row.locator('td[data-label="Command"]').innerText(), JOB.command);
    assert.match(await row.locator('td[data-label="Last"]').innerText(), /never ran/);
    await row.locator('button[type=submit]').click();
    await page.waitForURL(`${hiy.url}/apps/${APP}/cron`);
    assert.match(await page.locator('.flash, [role=status]').first().innerText(), /Started run #\d+ of job [0-9a-f]{8}/);
    const done = await until('the run to end', async () => ((await api('GET', `/apps/${APP}/cron/runs`)).body.runs as RunDetail[]).find((r) => r.status !== 'running'));
    assert.equal(done.exit_code, 0);
    assert.equal(done.output, 'cron says v1\n');
    assert.equal(done.by, 'dashboard (cron:run)');
    await page.reload();
    assert.match(await page.locator('.cron-run pre.log').first().innerText(), /cron says v1/);
    await shoot(page, 'cron');
  });
});
