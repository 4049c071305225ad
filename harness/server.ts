import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/main.js';
import { docker } from './docker.js';
import { hiyEntry } from './paths.js';
import { freePorts } from './ports.js';

export interface HiyOptions {
  /** Extra or overriding HIY_* variables. */
  env?: Record<string, string>;
  /** Reuse a data dir (to restart a server on the same state). */
  dataDir?: string;
  keepDataDir?: boolean;
  startTimeoutMs?: number;
}

export interface HiyTestEnv {
  url: string;
  token: string;
  dataDir: string;
  env: Record<string, string>;
}

/** A fresh data dir, loopback ports nobody uses and a random admin token. */
export async function testEnv(opts: HiyOptions = {}): Promise<HiyTestEnv> {
  const [listen, http, https] = await freePorts(3);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hiy-test-'));
  // Shaped like install.sh's tokens (hiy_ + 43 base64url characters): never starts with "-", which a
  // command line would read as an option.
  const token = `hiy_${randomBytes(32).toString('base64url')}`;
  const env: Record<string, string> = {
    HIY_DATA_DIR: dataDir,
    HIY_LISTEN: `127.0.0.1:${listen}`,
    HIY_HTTP_PORT: String(http),
    HIY_HTTPS_PORT: String(https),
    HIY_ADMIN_TOKEN: token,
    HIY_DOMAIN: 'localhost',
    // Caddy's app listeners on loopback only: tests never open ports on other interfaces.
    HIY_PROXY_HOST: '127.0.0.1',
    // Each test server gets its own slot port range, so parallel runs never share an app port.
    // Below 32768: the kernel hands out ephemeral ports from there up, and a collision fails a bind.
    // Not 20000-20099 either: an installed hiy (install.sh, the install test) uses the default base.
    HIY_SLOT_PORT_BASE: String(20100 + randomInt(0, 119) * 100),
    // Live markers (src/proxy/live.ts) and Caddy's admin socket (the default, HIY_CADDY_ADMIN
    // unset: <run dir>/caddy-admin/admin.sock) inside the test's data dir, never the installed
    // hiy's /run/hiy.
    HIY_RUN_DIR: join(dataDir, 'run'),
    ...opts.env,
  };
  return { url: `http://${env.HIY_LISTEN}`, token: env.HIY_ADMIN_TOKEN ?? token, dataDir, env };
}

export interface HiyProcess extends HiyTestEnv {
  proc: ChildProcess;
  /** Everything the server wrote so far (stdout + stderr). */
  output(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 10 s), remove the data dir; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node <dist>/src/cli/entry.js server` and waits until /api/v1/health answers. */
export async function startHiy(opts: HiyOptions = {}): Promise<HiyProcess> {
  const t = await testEnv(opts);
  const proc = spawn(process.execPath, [hiyEntry(), 'server'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: t.dataDir, ...t.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => { done = true; });

  const stop = async (): Promise<number | null> => {
    if (!done) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!opts.keepDataDir) await removeDataDir(t.dataDir);
    return exited;
  };

  try {
    await waitHealthy(t.url, opts.startTimeoutMs ?? 20_000, () => done);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- server output ---\n${out}`);
  }
  return { ...t, proc, output: () => out, stop };
}

/**
 * Removes a test server's data dir and the images its apps were built into: builds carry no
 * labels (see docker-builder.ts), so label-based cleanup cannot find `hiy/<app>` images.
 */
export async function removeDataDir(dataDir: string): Promise<void> {
  const lines = (r: { stdout: string }) => [...new Set(r.stdout.split('\n').map((s) => s.trim()).filter(Boolean))];
  // An image a container still uses cannot be removed: the server's containers go first.
  const instance = readInstanceId(dataDir);
  if (instance) {
    const containers = lines(await docker(['ps', '-aq', '--filter', `label=hiy.instance=${instance}`]));
    if (containers.length) await docker(['rm', '-f', '-v', ...containers]);
  }
  // By name, never by id: an id can also carry another test's tags (the same layers, cached).
  for (const app of appNames(dataDir)) {
    const refs = lines(await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=hiy/${app}`]));
    if (refs.length) await docker(['rmi', ...refs]);
  }
  rmSync(dataDir, { recursive: true, force: true });
}

function readInstanceId(dataDir: string): string | undefined {
  try {
    const id = readFileSync(join(dataDir, 'instance-id'), 'utf8').trim();
    return /^[0-9a-f]{16}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function appNames(dataDir: string): string[] {
  const file = join(dataDir, 'hiy.db');
  if (!existsSync(file)) return [];
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT name FROM apps').all() as { name: string }[]).map((r) => r.name).filter((n) => /^[a-z][a-z0-9-]{0,29}$/.test(n));
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}

async function waitHealthy(url: string, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('hiy server exited before answering /api/v1/health');
    try {
      const res = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(1000) });
      // ready: start-up reconciliation is done (routes rebuilt, current releases running).
      if (res.ok && (await res.json() as { ready?: boolean }).ready !== false) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`hiy server did not answer ${url}/api/v1/health within ${timeoutMs} ms`);
}

export interface InProcessHiy extends HiyTestEnv {
  running: RunningServer;
  logs(): string;
  stop(): Promise<void>;
}

/** The same server inside the test process: faster, and its Services can be inspected. */
export async function startInProcess(opts: HiyOptions = {}): Promise<InProcessHiy> {
  const t = await testEnv(opts);
  const config = loadConfig(t.env);
  let logs = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logs += chunk.toString(); cb(); } });
  const running = await startServer(config, createLogger('info', sink), sink);
  return {
    ...t,
    url: `http://127.0.0.1:${running.address.port}`,
    running,
    logs: () => logs,
    async stop() {
      await running.stop();
      if (!opts.keepDataDir) await removeDataDir(t.dataDir);
    },
  };
}

/** fetch against the API with the test's token; answers parsed as JSON. */
export function apiClient(base: { url: string; token: string }) {
  return async function api(method: string, path: string, body?: unknown, init: { token?: string | null; raw?: string } = {}): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? base.token : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = init.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base.url}/api/v1${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* keep the text */ }
    return { status: res.status, body: parsed };
  };
}

export interface EndedDeploy { id: number; status: string; log: string; [field: string]: unknown }

/**
 * Waits until deploy `id` (default: the app's newest) is over and returns it. `git push` answers
 * when the new release serves; the old release's drain, workers and pruning end the deploy later.
 */
export async function deployEnded(api: ReturnType<typeof apiClient>, app: string, id?: number, timeoutMs = 60_000): Promise<EndedDeploy> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const which = id ?? (await api('GET', `/apps/${app}/deploys?limit=1`)).body.deploys[0].id;
    const d = (await api('GET', `/apps/${app}/deploys/${which}`)).body.deploy as EndedDeploy;
    if (d.status !== 'queued' && d.status !== 'building') return d;
    if (Date.now() > deadline) throw new Error(`deploy ${which} of ${app} did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
