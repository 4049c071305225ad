import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { findRootCert } from '../../harness/app-http.js';
import { run } from '../../harness/git.js';
import { hiyEntry } from '../../harness/paths.js';
import type { HiyProcess } from '../../harness/server.js';

/** `hiy <args>` against the test server, with optional stdin. */
export function runCli(hiy: HiyProcess, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [hiyEntry(), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin.end(stdin);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface CurlAnswer {
  notListening: boolean;
  status: string;
  body: string;
  error?: string;
}

/**
 * curl https://<host>.localhost:<HIY_HTTPS_PORT><path> with Caddy's local CA, as tests/e2e/git-push
 * does; `notListening` when nothing serves that port yet.
 */
export async function curlThroughCaddy(hiy: HiyProcess, host: string, path = '/', post?: { body: string; headers: Record<string, string> }): Promise<CurlAnswer> {
  const port = hiy.env.HIY_HTTPS_PORT!;
  if (!(await listening(Number(port)))) return { notListening: true, status: '', body: '' };
  let ca: string | undefined;
  for (let i = 0; i < 50 && !(ca = findRootCert(hiy.dataDir)); i++) await new Promise((r) => setTimeout(r, 200));
  if (!ca) return { notListening: false, status: '', body: '', error: 'no Caddy root certificate under the data dir' };
  const extra = post ? ['-X', 'POST', '--data-binary', post.body, ...Object.entries(post.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])] : [];
  const r = await run('curl', ['-sS', '--max-time', '15', '--cacert', ca, '--resolve', `${host}.localhost:${port}:127.0.0.1`, ...extra,
    '-w', '\n%{http_code}', `https://${host}.localhost:${port}${path}`]);
  const i = r.stdout.lastIndexOf('\n');
  return { notListening: false, status: r.stdout.slice(i + 1), body: r.stdout.slice(0, i), ...(r.code ? { error: r.stderr } : {}) };
}
