/**
 * A pushed repo cannot freeze hiy (docs/security.md, "Pushed repos cannot stall the control
 * plane"). Two real pushes that stalled /api/v1/health for 13 s and 88 s before: a
 * `.dockerignore` line `(a+)+b` next to a file named `aaaa…ac` (a JavaScript RegExp backtracks
 * exponentially on it), and a go.mod of 262,000 blank lines (a multiline `^\s*module` regex is
 * quadratic on it). While each push is built, a loop asks /api/v1/health every 50 ms on a fresh
 * connection; every answer must come within 250 ms. (A first ordinary push loads hiy's lazily
 * loaded modules beforehand: that one-time cost is not the repo's doing.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { apiClient, HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, removeAppImages } from '../../harness/docker.js';
import { BUSYBOX_IMAGE } from '../../harness/images.js';
import { serverWithApps, sleep } from './support.js';

const APP = `sec-frz-${randomBytes(3).toString('hex')}`;
const GO_APP = `sec-frzgo-${randomBytes(3).toString('hex')}`;
const LIMIT_MS = 250;

/** One GET on a new connection; resolves with how long the answer took. */
function timedHealth(base: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/v1/health`, { agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`health answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('health did not answer within 30 s')));
    req.on('error', reject);
    req.end();
  });
}

const slowest = (times: number[]) => [...times].sort((a, b) => b - a).slice(0, 5).map((t) => t.toFixed(0)).join(', ');

/** Polls health until stop(); returns every latency seen. */
function pollHealth(base: string): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      times.push(await timedHealth(base));
      await sleep(50);
    }
  })();
  return { async stop() { running = false; await loop; return times; } };
}

describe('a pushed repo cannot freeze the control plane', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const copies: WorkingCopy[] = [];

  before(async () => {
    // A Go build with these images fails at `go mod download` (no go in busybox): what counts
    // here is how hiy behaves while it reads the repo, not the build's outcome.
    ({ hiy, api } = await serverWithApps([{ name: APP }, { name: GO_APP }], { HIY_IMAGE_GO: BUSYBOX_IMAGE, HIY_IMAGE_GO_RUNTIME: BUSYBOX_IMAGE }));
  });

  after(async () => {
    await hiy?.stop();
    for (const wc of copies) wc.remove();
    for (const app of [APP, GO_APP]) {
      await cleanupByLabel(`hiy.app=${app}`);
      await removeAppImages(app);
    }
  });

  async function pushWatched(wc: WorkingCopy, app: string): Promise<{ times: number[]; out: string; code: number }> {
    const poll = pollHealth(hiy.url);
    const push = await wc.push(remoteUrl(hiy.url, app, hiy.token));
    const times = await poll.stop();
    return { times, out: push.stderr, code: push.code };
  }

  test('.dockerignore "(a+)+b" with a file "aaaa…ac": health answers within 250 ms, the pattern is literal', async () => {
    const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    copies.push(wc);
    // A first, ordinary push loads what hiy loads lazily (the engine client, the git server: about
    // 0.5 s of module loading once per process, docs/architecture.md decision 13). What is
    // measured below is what the repo's content costs.
    const warm = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(warm.code, 0, warm.stderr);
    const evil = `${'a'.repeat(28)}c`;
    wc.write('.dockerignore', '(a+)+b\nwww/(a+)+b\n**/(a+)+b\n');
    wc.write(`www/${evil}`, 'served\n');
    wc.write(`www/(a+)+b`, 'ignored\n');
    await wc.commit('a .dockerignore a backtracking matcher chokes on');
    const r = await pushWatched(wc, APP);
    assert.equal(r.code, 0, r.out);
    assert.ok(r.times.length >= 5, `health was polled during the push (${r.times.length} answers)`);
    const worst = Math.max(...r.times);
    assert.ok(worst < LIMIT_MS, `slowest health answers during the push: ${slowest(r.times)} ms (${r.times.length} answers)`);
    // Literal semantics: the file named "(a+)+b" was left out, the a…c one was not.
    assert.match(r.out, /\.dockerignore left out 1 of/);
  });

  test('go.mod with 262,000 blank lines: health answers within 250 ms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hiy-frz-go-'));
    mkdirSync(join(dir, 'cmd'));
    writeFileSync(join(dir, 'go.mod'), '\n'.repeat(262_000));
    writeFileSync(join(dir, 'main.go'), 'package main\nfunc main() {}\n');
    const wc = await WorkingCopy.fromFixture(dir);
    rmSync(dir, { recursive: true, force: true });
    copies.push(wc);
    const r = await pushWatched(wc, GO_APP);
    assert.match(r.out, /Detected Go app/, r.out);
    assert.ok(r.times.length >= 2, `health was polled during the push (${r.times.length} answers)`);
    const worst = Math.max(...r.times);
    assert.ok(worst < LIMIT_MS, `slowest health answers during the push: ${slowest(r.times)} ms (${r.times.length} answers)`);
  });
});
