/**
 * Docker for tests, through the docker CLI (execFile, argument arrays only).
 *
 *   await ensureDocker();                       // a daemon answers (starts dockerd if none does)
 *   const run = testRun();                      // labels unique to this test file
 *   ...create objects with run.labels...
 *   after(() => cleanupByLabel(run.label));     // removes only this file's objects
 *   await waitForHttp(`http://127.0.0.1:${port}/`) // a container's app answers (bounded tries)
 *
 * Labels: every test object carries `hiy.test=1`. Helpers run test files in parallel on one
 * engine, so a file cleans up by its own `hiy.test.run=<id>` (or `hiy.app=<its app>`), never by
 * `hiy.test=1` while others may be running. Base images carry `hiy.test.base=1` and are kept.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `docker <args>`; never throws, the exit code is in the result. */
export function docker(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `docker info` answers; starts `dockerd` in the background when it does not (waits up to 60 s). */
export async function ensureDocker(): Promise<void> {
  if ((await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 })).code === 0) return;
  const logFd = openSync(join(tmpdir(), 'hiy-test-dockerd.log'), 'a');
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await sleep(500);
    if ((await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 })).code === 0) return;
  }
  throw new Error(`dockerd did not answer within 60 s (see ${join(tmpdir(), 'hiy-test-dockerd.log')})`);
}

export interface TestRun {
  /** Put these on every object the test creates (`hiy.test=1` + a per-file run id). */
  labels: Record<string, string>;
  /** `hiy.test.run=<id>`: what cleanupByLabel takes to remove exactly this file's objects. */
  label: string;
}

/** Labels unique to one test file, so parallel test files never clean up each other's objects. */
export function testRun(): TestRun {
  const id = randomBytes(4).toString('hex');
  return { labels: { 'hiy.test': '1', 'hiy.test.run': id }, label: `hiy.test.run=${id}` };
}

function ids(out: string): string[] {
  return [...new Set(out.split('\n').map((s) => s.trim()).filter(Boolean))];
}

/**
 * Removes containers, then networks, then images carrying `label` (`key=value` or `key`).
 * Defaults to every test object; base images (`hiy.test.base=1`) are not touched by that default.
 */
export async function cleanupByLabel(label = 'hiy.test=1'): Promise<void> {
  const filter = `label=${label}`;
  const containers = ids((await docker(['ps', '-aq', '--filter', filter])).stdout);
  if (containers.length) await docker(['rm', '-f', '-v', ...containers]);
  const networks = ids((await docker(['network', 'ls', '-q', '--filter', filter])).stdout);
  if (networks.length) await docker(['network', 'rm', ...networks]);
  const images = ids((await docker(['images', '-q', '--filter', filter])).stdout);
  if (images.length) await docker(['rmi', '-f', ...images]);
}

/** Removes the images hiy built for an app (hiy/<app>:<sha>; hiy labels no image, so cleanupByLabel misses them). */
export async function removeAppImages(app: string): Promise<void> {
  const images = ids((await docker(['images', '-q', `hiy/${app}`])).stdout);
  if (images.length) await docker(['rmi', '-f', ...new Set(images)]);
}

/** `docker inspect <name>` parsed (the first object), or undefined when it does not exist. */
export async function dockerInspect(name: string): Promise<any> {
  const r = await docker(['inspect', '--', name]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as unknown[])[0];
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One GET bounded by a REF'd timer. Measured here: before a container's app listens,
 * docker-proxy accepts the connection and drops it; Node 20's fetch then never settles, and
 * with AbortSignal.timeout (an unref'd timer) a test process just exits ("Promise resolution
 * is still pending"). curl sees the drop within 40 ms.
 */
export async function httpGet(url: string, timeoutMs = 2000): Promise<HttpAnswer> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: ac.signal });
    return { status: res.status, body: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers HTTP (any status), up to `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await httpGet(url, Math.min(2000, Math.max(100, deadline - Date.now())));
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(25);
    }
  }
}
