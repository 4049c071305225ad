import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HiyError } from '../errors.js';
import { checkRepoUrl, isLoopbackHost } from './repo-url.js';

export interface FetchLimits {
  /** The fetch is killed (with its helpers) after this long. */
  timeoutMs: number;
  /** The fetch is killed once the pack being received grows past this many bytes. */
  maxBytes: number;
}

const PRLIMIT = '/usr/bin/prlimit';

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 300_000, maxBytes: 1024 * 1024 * 1024 };

/** What a fetch from an app's upstream repository (repo_url) brings into its bare repo. */
export interface UpstreamFetch {
  /** Checked again here (a value from an older database must not bypass the rules). */
  url: string;
  refspecs: string[];
  /** Access token for a private repo: sent as an Authorization header, never in the URL or argv. */
  token?: string | undefined;
  limits?: FetchLimits | undefined;
  /** Kills the fetch (the deploy was cancelled or its consumer went away). */
  signal?: AbortSignal | undefined;
}

export interface FetchRequest extends UpstreamFetch {
  gitDir: string;
}

/** A failed fetch; `killed` when hiy stopped it (time, size, cancel) rather than git failing. */
export class FetchError extends HiyError {
  constructor(message: string, readonly killed: boolean) {
    super('deploy_failed', message);
  }
}

// Child environment: only what git and curl need. Inherited GIT_* variables (GIT_TRACE_CURL would
// print the token, GIT_CONFIG_PARAMETERS could turn protocols back on) must not reach this git.
const PASSED_ENV = ['PATH', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTPS_PROXY', 'NO_PROXY', 'GIT_SSL_CAINFO', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE'];

/** The `git` argument array and environment of a hardened fetch (exported for tests). */
export function fetchCommand(req: Omit<FetchRequest, 'limits'>, inherited: Record<string, string | undefined>): { args: string[]; env: Record<string, string> } {
  const url = checkRepoUrl(req.url);
  const config = [
    'protocol.allow=never',
    'protocol.https.allow=always',
    // Plain http only to this machine (the tests' stand-in for GitHub).
    ...(url.protocol === 'http:' && isLoopbackHost(url.hostname) ? ['protocol.http.allow=always'] : []),
    'core.hooksPath=/dev/null',
    'submodule.recurse=false',
    'fetch.recurseSubmodules=false',
    // A redirect to another host would be a server-side request forgery and would carry the token.
    'http.followRedirects=false',
    'credential.helper=',
    'core.askPass=',
    // Keep what arrives as one pack file, so its size is bounded and watched while it grows.
    'fetch.unpackLimit=1',
    'transfer.fsckObjects=true',
  ];
  const args = [
    ...config.flatMap((c) => ['-c', c]),
    '--git-dir', req.gitDir,
    'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--no-auto-gc',
    '--end-of-options', url.href, ...req.refspecs,
  ];
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (inherited[k] !== undefined) env[k] = inherited[k]!;
  Object.assign(env, { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: '/bin/false', LC_ALL: 'C', HOME: '/nonexistent' });
  if (req.token) {
    // GIT_CONFIG_* keeps the header out of the process list (argv is world-readable, environ is not).
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic(req.token)}`;
  }
  return { args, env };
}

const basic = (token: string): string => Buffer.from(`x-access-token:${token}`).toString('base64');

/** Hides a token (and the header made of it) in text that may be shown or logged. */
export function redactToken(text: string, token: string | undefined): string {
  if (!token) return text;
  let out = text;
  for (const s of [token, basic(token), encodeURIComponent(token)]) out = out.split(s).join('***');
  return out;
}

/** Runs one hardened `git fetch`; rejects with a redacted message on failure, timeout or size. */
export async function gitFetch(req: FetchRequest): Promise<void> {
  const limits = req.limits ?? DEFAULT_FETCH_LIMITS;
  const { args, env } = fetchCommand(req, process.env);
  const packDir = join(req.gitDir, 'objects', 'pack');
  const before = new Set(await listTemp(packDir));
  // RLIMIT_FSIZE (inherited by index-pack) bounds the pack file as it is written, however fast
  // it arrives; the polling below is the fallback where prlimit is missing. Its own process
  // group, so a kill also reaches git-remote-https and index-pack.
  const [cmd, argv] = existsSync(PRLIMIT) ? [PRLIMIT, [`--fsize=${limits.maxBytes}`, '--core=0', '--', 'git', ...args]] : ['git', args];
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 16_384) stderr += d.toString(); });
  let killedFor: string | undefined;
  const kill = (why: string) => {
    killedFor ??= why;
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  };
  const onAbort = () => kill('it was cancelled');
  if (req.signal?.aborted) onAbort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => kill(`it took longer than ${Math.round(limits.timeoutMs / 1000)} s`), limits.timeoutMs);
  const poll = setInterval(() => {
    void receivedBytes(packDir, before).then((n) => { if (n > limits.maxBytes) kill(`the repository is larger than ${formatBytes(limits.maxBytes)}`); });
  }, 200);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  clearInterval(poll);
  req.signal?.removeEventListener('abort', onAbort);
  if (code === 0 && !killedFor) return;
  // index-pack stopped by the file size limit leaves a temp pack of exactly that size.
  if (!killedFor && (await largestNew(packDir, before)) >= limits.maxBytes) killedFor = `the repository is larger than ${formatBytes(limits.maxBytes)}`;
  // Fetches of one app never overlap (webhooks/mirror.ts), so every new temp pack is this one's.
  await removeNew(packDir, before);
  const detail = killedFor ?? (redactToken(stderr, req.token).trim().split('\n').slice(-4).join(' ') || `git exited with ${code}`);
  throw new FetchError(`git fetch from ${new URL(req.url).href} failed: ${detail}`, killedFor !== undefined);
}

async function listTemp(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.startsWith('tmp_') || n.endsWith('.temp'));
  } catch {
    return [];
  }
}

async function largestNew(dir: string, before: Set<string>): Promise<number> {
  let max = 0;
  for (const n of await listTemp(dir)) {
    if (before.has(n)) continue;
    try { max = Math.max(max, (await stat(join(dir, n))).size); } catch { /* gone */ }
  }
  return max;
}

async function receivedBytes(dir: string, before: Set<string>): Promise<number> {
  let total = 0;
  for (const n of await listTemp(dir)) {
    if (before.has(n)) continue;
    try { total += (await stat(join(dir, n))).size; } catch { /* renamed or removed meanwhile */ }
  }
  return total;
}

async function removeNew(dir: string, before: Set<string>): Promise<void> {
  for (const n of await listTemp(dir)) if (!before.has(n)) await rm(join(dir, n), { force: true });
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`;
}
