// A real Express app with npm dependencies from the registry (tests/fixtures/express-app), three
// pushes, each next to a plain `docker build` + `docker run` of the same app in the same run:
//   cold build · code-only change · one dependency added to package.json and the lockfile.
// hiy: from `git push` until Caddy serves the new body (and until `git push` returns). Plain: the
// Dockerfile hiy generates for the app, built with the classic builder (what `docker build` does
// on Debian's docker.io without buildx) and run until it answers. hiy's downloads are npm's own
// count ("(cache miss)" lines); the plain build downloads every package whenever the lockfile changes.
// Run: npm run build && node dist/bench/builds.js
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { curlApp } from '../harness/app-http.js';
import { DEBIAN_NODE_IMAGE, ensureDebianNodeImage } from '../harness/debian-images.js';
import { cleanupByLabel, docker, ensureDocker, removeAppImages } from '../harness/docker.js';
import { remoteUrl, run, WorkingCopy } from '../harness/git.js';
import { repoRoot } from '../harness/paths.js';
import { freePort } from '../harness/ports.js';
import { apiClient, startHiy } from '../harness/server.js';
import { nodeDockerfile } from '../src/build/dockerfiles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixtures = join(repoRoot(), 'tests', 'fixtures');
const downloads = (out: string) => out.split('\n').filter((l) => /npm http fetch GET \d+ .*\(cache (miss|stale|revalidated|updated)\)/.test(l)).length;

function get(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    const t = setTimeout(() => req.destroy(), 1000);
    req.on('error', () => { clearTimeout(t); resolve(undefined); });
    req.on('close', () => clearTimeout(t));
    req.end();
  });
}

/** Writes the step's change into a working copy (message, and for 'dependency' the v2 manifests). */
async function change(wc: WorkingCopy, step: string): Promise<string> {
  const body = `${step} ${randomBytes(3).toString('hex')}`;
  wc.write('message.txt', `${body}\n`);
  if (step === 'dependency') for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(fixtures, 'express-app-v2', f), join(wc.dir, f));
  await wc.commit(step);
  return body;
}

/** The plain tools: `docker build` of the same Dockerfile hiy generates (no cache mount), `docker run`, first 200. */
async function plainRound(wc: WorkingCopy, step: string, label: string): Promise<{ ms: number }> {
  const body = await change(wc, step);
  const port = await freePort();
  const tag = `hiy-bench/plain:${randomBytes(4).toString('hex')}`;
  const t0 = performance.now();
  const b = await docker(['build', '--label', label, '-f', join(wc.dir, '.plain.Dockerfile'), '-t', tag, wc.dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 });
  if (b.code !== 0) throw new Error(b.stderr || b.stdout);
  const r = await docker(['run', '-d', '--label', label, '-e', 'PORT=8080', '-p', `127.0.0.1:${port}:8080`, tag]);
  if (r.code !== 0) throw new Error(r.stderr);
  while (!(await get(port))?.startsWith(body)) await sleep(10);
  const ms = performance.now() - t0;
  await docker(['rm', '-f', r.stdout.trim()]);
  return { ms };
}

async function hiyRound(wc: WorkingCopy, url: string, hiy: Parameters<typeof curlApp>[0], app: string, step: string): Promise<{ live: number; pushDone: number; downloads: number }> {
  const body = await change(wc, step);
  const t0 = performance.now();
  let out = '';
  let pushDone = NaN;
  const child = spawn('git', ['push', url, 'main'], { cwd: wc.dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: wc.dir, GIT_TERMINAL_PROMPT: '0' } });
  const timeline: string[] = [];
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
    const at = ((performance.now() - t0) / 1000).toFixed(2);
    for (const l of d.toString().split(/[\r\n]+/)) if (l.trim()) timeline.push(`${at.padStart(6)} ${l}`);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { pushDone = performance.now() - t0; resolve(code); }));
  let live = NaN;
  while (Number.isNaN(live)) {
    if ((await curlApp(hiy, app)).body.startsWith(body)) live = performance.now() - t0;
    else if (!Number.isNaN(pushDone) && (await exited) !== 0) throw new Error(`the push failed:\n${out}`);
    else await sleep(20);
  }
  await exited;
  // BENCH_TIMELINE=<dir>: every line of the push with the second it arrived, one file per step.
  if (process.env.BENCH_TIMELINE) writeFileSync(join(process.env.BENCH_TIMELINE, `${step}.log`), `${timeline.join('\n')}\n${(live / 1000).toFixed(2).padStart(6)} live\n`);
  return { live, pushDone, downloads: downloads(out) };
}

async function main(): Promise<void> {
  await ensureDocker();
  await ensureDebianNodeImage();
  const label = `hiy.bench=${randomBytes(4).toString('hex')}`;
  const app = `bench-b-${randomBytes(3).toString('hex')}`;
  const plainWc = await WorkingCopy.fromFixture(join(fixtures, 'express-app'));
  // The generated Dockerfile without hiy's cache mount: what a plain `docker build` would run.
  writeFileSync(join(plainWc.dir, '.plain.Dockerfile'), nodeDockerfile({ image: DEBIAN_NODE_IMAGE, lockfile: 'package-lock.json', hasBuild: false, web: undefined }));
  writeFileSync(join(plainWc.dir, '.dockerignore'), '.plain.Dockerfile\n.git\n');
  await plainWc.commit('plain Dockerfile');
  const wc = await WorkingCopy.fromFixture(join(fixtures, 'express-app'));
  const hiy = await startHiy({ env: { HIY_IMAGE_NODE: DEBIAN_NODE_IMAGE } });
  try {
    await apiClient(hiy)('POST', '/apps', { name: app, port: 8080, drain_s: 1 });
    const url = remoteUrl(hiy.url, app, hiy.token);
    console.log('tests/fixtures/express-app (express 4, 72 packages from the registry); one round each, same run');
    console.log(`${'push'.padEnd(22)} ${'plain build+run'.padStart(16)} ${'hiy live'.padStart(10)} ${'ratio'.padStart(7)} ${'git push returns'.padStart(17)} ${'hiy downloads'.padStart(14)}`);
    for (const step of ['cold', 'code-only', 'dependency']) {
      // Plain first, then hiy: neither profits from the other's downloads (hiy's cache is its own).
      const p = await plainRound(plainWc, step, label);
      const h = await hiyRound(wc, url, hiy, app, step);
      console.log(`${step.padEnd(22)} ${`${(p.ms / 1000).toFixed(2)} s`.padStart(16)} ${`${(h.live / 1000).toFixed(2)} s`.padStart(10)} ${`${(h.live / p.ms).toFixed(2)}x`.padStart(7)} ${`${(h.pushDone / 1000).toFixed(2)} s (${(h.pushDone / h.live).toFixed(2)}x)`.padStart(17)} ${String(h.downloads).padStart(14)}`);
    }
  } finally {
    await apiClient(hiy)('DELETE', `/apps/${app}`).catch(() => undefined);
    await hiy.stop();
    await removeAppImages(app);
    await cleanupByLabel(label);
    const images = (await run('docker', ['images', '-q', '--filter', `label=${label}`])).stdout.trim().split('\n').filter(Boolean);
    if (images.length) await docker(['rmi', '-f', ...images]);
    wc.remove();
    plainWc.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
