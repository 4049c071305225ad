// Push-to-live for a small cached app, next to the floor measured in the same run on the same
// machine: raw `git push` to a bare repo + `docker build` + `docker run` + first 200.
// Also the time until the first `remote:` line of build output reaches the pusher.
// Run: npm run build && node dist/bench/push-to-live.js [rounds, default 5]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curlApp } from '../harness/app-http.js';
import { cleanupByLabel, ensureDocker } from '../harness/docker.js';
import { remoteUrl, run, WorkingCopy } from '../harness/git.js';
import { ensureBusyboxImage } from '../harness/images.js';
import { repoRoot } from '../harness/paths.js';
import { freePort } from '../harness/ports.js';
import { apiClient, startHiy } from '../harness/server.js';

const rounds = Number(process.argv[2] ?? '5');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(port: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    const t = setTimeout(() => req.destroy(), 1000);
    req.on('error', () => { clearTimeout(t); resolve(undefined); });
    req.on('close', () => clearTimeout(t));
    req.end();
  });
}

/** The floor: what the same change costs with the bare tools and no platform in between. */
async function floorRound(wc: WorkingCopy, bare: string, body: string, label: string): Promise<number> {
  wc.write('www/index.html', body);
  await wc.commit(body);
  const port = await freePort();
  const t0 = performance.now();
  const push = await run('git', ['push', '-q', bare, 'HEAD:main'], { cwd: wc.dir });
  if (push.code !== 0) throw new Error(push.stderr);
  const tag = `hiy-bench/floor:${randomBytes(4).toString('hex')}`;
  const b = await run('docker', ['build', '-q', '--label', label, '-t', tag, wc.dir]);
  if (b.code !== 0) throw new Error(b.stderr);
  const r = await run('docker', ['run', '-d', '--label', label, '-e', 'PORT=8080', '-p', `127.0.0.1:${port}:8080`, tag]);
  if (r.code !== 0) throw new Error(r.stderr);
  for (;;) {
    const res = await get(port);
    if (res?.status === 200 && res.body === body) break;
    await sleep(10);
  }
  const took = performance.now() - t0;
  await run('docker', ['rm', '-f', r.stdout.trim()]);
  return took;
}

/** hiy: from `git push` until Caddy serves the new body; also the first `remote:` line and the push's own end. */
async function hiyRound(wc: WorkingCopy, url: string, hiy: Parameters<typeof curlApp>[0], app: string, body: string): Promise<{ live: number; firstLine: number; pushDone: number }> {
  wc.write('www/index.html', body);
  await wc.commit(body);
  const t0 = performance.now();
  let firstLine = NaN;
  let pushDone = NaN;
  const child = spawn('git', ['push', url, 'main'], { cwd: wc.dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: wc.dir, GIT_TERMINAL_PROMPT: '0' } });
  child.stderr.on('data', (d: Buffer) => { if (Number.isNaN(firstLine) && d.toString().includes('remote:')) firstLine = performance.now() - t0; });
  const exited = new Promise<void>((resolve) => child.on('exit', () => { pushDone = performance.now() - t0; resolve(); }));
  let live = NaN;
  while (Number.isNaN(live)) {
    if ((await curlApp(hiy, app)).body === body) live = performance.now() - t0;
    else await sleep(20);
  }
  await exited;
  return { live, firstLine, pushDone };
}

async function main(): Promise<void> {
  await ensureDocker();
  await ensureBusyboxImage();
  const label = `hiy.bench=${randomBytes(4).toString('hex')}`;
  const fixture = join(repoRoot(), 'tests', 'fixtures', 'busybox-app');
  const floorWc = await WorkingCopy.fromFixture(fixture);
  const bare = mkdtempSync(join(tmpdir(), 'hiy-bench-bare-'));
  await run('git', ['init', '-q', '--bare', bare]);
  const hiy = await startHiy();
  const app = `bench-${randomBytes(3).toString('hex')}`;
  const wc = await WorkingCopy.fromFixture(fixture);
  try {
    await apiClient(hiy)('POST', '/apps', { name: app, port: 8080 });
    const url = remoteUrl(hiy.url, app, hiy.token);
    // Warm both paths so every measured round is a cached build.
    await floorRound(floorWc, bare, 'warm\n', label);
    await hiyRound(wc, url, hiy, app, 'warm\n');
    const floor: number[] = [];
    const live: number[] = [];
    const first: number[] = [];
    const done: number[] = [];
    for (let i = 0; i < rounds; i++) {
      floor.push(await floorRound(floorWc, bare, `floor ${i}\n`, label));
      const h = await hiyRound(wc, url, hiy, app, `hiy ${i}\n`);
      live.push(h.live);
      first.push(h.firstLine);
      done.push(h.pushDone);
    }
    const f = median(floor);
    const rows: [string, number][] = [
      ['floor: push + build + run + first 200', f],
      ['hiy: push until Caddy serves the new body', median(live)],
      ['hiy: push until git push returns', median(done)],
      ['hiy: push until the first remote: line', median(first)],
    ];
    console.log(`median of ${rounds} rounds, cached builds of tests/fixtures/busybox-app`);
    for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${(v / 1000).toFixed(2)} s  ${(v / f).toFixed(2)}x floor`);
  } finally {
    await hiy.stop();
    wc.remove();
    floorWc.remove();
    rmSync(bare, { recursive: true, force: true });
    await cleanupByLabel(label);
    await cleanupByLabel(`hiy.app=${app}`);
  }
}

await main();
