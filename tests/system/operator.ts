/**
 * What an operator does on a booted guest, and how the host reaches it: clone hiy, run the
 * installer, create and push an app, and request it through the guest's system Caddy over HTTPS.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult, type WorkingCopy } from '../../harness/git.js';
import { startLoad, type LoadReport } from '../../harness/load.js';
import { ORIGIN_IN_GUEST, type Guest } from './guest.js';

export const CHECKOUT = '/home/pi/hiy';
const CADDY_CA = '/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt';

export function domainOf(g: Guest): string {
  return `${g.name}.localhost`;
}

/** docs/setup.md step 5: `apt-get install git`, then clone as the operator (uid 1000, "pi"). */
export async function cloneHiy(g: Guest, ref?: string): Promise<void> {
  await g.sh('apt-get', ['update', '-q'], { timeoutMs: 300_000 });
  await g.sh('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'git'], { timeoutMs: 300_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  await g.sh('useradd', ['--create-home', '--uid', '1000', '--shell', '/bin/bash', 'pi']);
  await g.sh('runuser', ['-u', 'pi', '--', 'git', 'clone', '--quiet', ORIGIN_IN_GUEST, CHECKOUT]);
  if (ref) await g.sh('runuser', ['-u', 'pi', '--', 'git', '-C', CHECKOUT, 'reset', '--quiet', '--hard', ref]);
}

export interface InstallRun extends RunResult {
  out: string;
  ms: number;
}

/** `sudo infra/install.sh <args>` in the checkout; `out` holds its stdout, then its stderr. */
export async function install(g: Guest, args: string[]): Promise<InstallRun> {
  const started = Date.now();
  const r = await g.exec(`${CHECKOUT}/infra/install.sh`, args, { env: g.installEnv(), timeoutMs: 15 * 60_000 });
  return { ...r, out: `${r.stdout}\n${r.stderr}`, ms: Date.now() - started };
}

/** A value of /etc/hiy/hiy.env, read from the guest's disk. */
export function envValue(g: Guest, key: string): string | undefined {
  const line = readFileSync(join(g.root, 'etc/hiy/hiy.env'), 'utf8').split('\n').find((l) => l.startsWith(`${key}=`));
  return line?.slice(key.length + 1);
}

/** The installed `hiy` CLI inside the guest, against the API on 127.0.0.1:3000. */
export function hiyCli(g: Guest, args: string[]): Promise<RunResult> {
  return g.exec('hiy', args, { env: { HIY_URL: 'http://127.0.0.1:3000', HIY_TOKEN: envValue(g, 'HIY_ADMIN_TOKEN') ?? '' }, timeoutMs: 60_000 });
}

/** Caddy's local root certificate (tls internal for *.localhost), as the host reads it. */
export function caFile(g: Guest): string {
  return join(g.root, CADDY_CA);
}

/** Images hiy builds test apps from; no registry is reachable, so they come from the host's engine. */
export async function loadImage(g: Guest, tag: string): Promise<void> {
  const save = spawn('docker', ['save', tag], { stdio: ['ignore', 'pipe', 'inherit'] });
  const r = await g.exec('docker', ['load'], { input: save.stdout, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`docker load of ${tag} into ${g.name}: ${r.stderr}`);
}

/** `git push` from the host to https://hiy.<domain>/git/<app>.git, trusting only the guest's Caddy CA. */
export function push(g: Guest, wc: WorkingCopy, app: string): Promise<RunResult> {
  const domain = domainOf(g);
  const url = `https://git:${envValue(g, 'HIY_ADMIN_TOKEN')}@hiy.${domain}/git/${app}.git`;
  return run('git', ['-c', `http.curloptResolve=hiy.${domain}:443:${g.guestAddress}`, 'push', url, 'main'],
    { cwd: wc.dir, env: { GIT_SSL_CAINFO: caFile(g) }, timeoutMs: 600_000 });
}

export interface HttpsResult {
  status: number;
  body: string;
  /** The error code when no answer came (ECONNREFUSED, timeout, …). */
  error?: string;
}

/** One HTTPS request from the host to `<host>` at the guest's address (port 443), trusting only the guest's Caddy CA. */
export function httpsRequest(g: Guest, host: string, path = '/', opts: { method?: string; body?: string; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpsResult> {
  const headers: Record<string, string | number> = { host, ...opts.headers };
  if (opts.body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) });
  return new Promise((resolve) => {
    const req = request({ host: g.guestAddress, port: 443, method: opts.method ?? 'GET', path, servername: host, headers, ca: readFileSync(caFile(g)), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: 0, body, error: err.message }));
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: err.code ?? err.message }));
    req.end(opts.body);
  });
}

export function httpsGet(g: Guest, host: string, path = '/', opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpsResult> {
  return httpsRequest(g, host, path, opts);
}

/** Polls until `<app>.<domain>` answers 200 with `body`; returns the ms it took. */
export async function waitServed(g: Guest, app: string, body: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: HttpsResult | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await httpsGet(g, `${app}.${domainOf(g)}`, '/', { timeoutMs: 2_000 });
    if (last.status === 200 && last.body === body) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`${app} not served within ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`);
}

/** A TCP connection from the host to the guest: open, refused, or nothing within `timeoutMs`. */
export function tcpProbe(address: string, port: number, timeoutMs = 3_000): Promise<'open' | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    const done = (v: 'open' | 'refused' | 'timeout') => { s.destroy(); resolve(v); };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.on('connect', () => done('open'));
    s.on('error', () => done('refused'));
  });
}

/** hiy's health inside the guest (its API listens on loopback only). */
export async function apiHealthy(g: Guest): Promise<boolean> {
  return (await g.exec('curl', ['-fsS', '--max-time', '2', 'http://127.0.0.1:3000/api/v1/health'], { timeoutMs: 5_000 })).code === 0;
}

export interface FaultReport {
  report: LoadReport;
  failed: number;
  /** When requests failed: what hiy, Caddy and Docker logged meanwhile, for the assertion message. */
  journal: string;
  /** From the first to the last failed request; 0 when none failed. */
  gapMs: number;
  /** From the fault until the app and hiy's API both answered again. */
  recoveredMs: number;
}

/**
 * Runs `fault` while the load helper sends requests to the app through the guest's Caddy
 * (keep-alive and fresh connections), waits until the app and hiy's API answer again, and
 * keeps the load on for a few more seconds.
 */
export async function underLoad(g: Guest, app: string, body: string, fault: () => Promise<void>, recoverMs = 60_000): Promise<FaultReport> {
  const load = startLoad({ host: `${app}.${domainOf(g)}`, port: 443, address: g.guestAddress, caFile: caFile(g), keepAliveConnections: 4, freshConnectionLoops: 2 });
  await sleep(2_000);
  const t0 = Date.now();
  await fault();
  const deadline = t0 + recoverMs;
  while (Date.now() < deadline) {
    const r = await httpsGet(g, `${app}.${domainOf(g)}`, '/', { timeoutMs: 2_000 });
    if (r.status === 200 && r.body === body && await apiHealthy(g)) break;
    await sleep(100);
  }
  const recoveredMs = Date.now() - t0;
  await sleep(3_000);
  const report = await load.stop();
  const failed = report.errors + report.non2xx;
  let journal = '';
  if (failed) {
    const since = `@${Math.floor(t0 / 1000) - 3}`;
    journal = (await g.exec('journalctl', ['-u', 'hiy', '-u', 'caddy', '-u', 'docker', '--since', since, '--no-pager', '-o', 'short-precise'])).stdout
      .split('\n').slice(-80).join('\n');
  }
  return { report, failed, gapMs: failed ? report.lastFailureAt - report.firstFailureAt : 0, recoveredMs, journal };
}

/** Mode, mtime, content hash (or link target) of each path on the guest's disk. */
export function fileStates(g: Guest, paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    const full = join(g.root, p);
    if (!existsSync(full) && !lstatExists(full)) { out[p] = 'absent'; continue; }
    const s = lstatSync(full);
    let what = `mode=${s.mode.toString(8)} mtime=${s.mtimeMs}`;
    if (s.isSymbolicLink()) what += ` -> ${readlinkSync(full)}`;
    else if (s.isFile()) what += ` sha256=${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
    out[p] = what;
  }
  return out;
}

function lstatExists(p: string): boolean {
  try { lstatSync(p); return true; } catch { return false; }
}

/** The main pid of each unit: a restart changes it. */
export async function mainPids(g: Guest, units: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const u of units) out[u] = (await g.sh('systemctl', ['show', '--property=MainPID', '--value', u])).trim();
  return out;
}
