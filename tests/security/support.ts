/**
 * Shared tools of the security suite: a marker folder that an injected command would write into,
 * raw HTTP (what an attacker sends, unnormalised by fetch), the CLI as a real process, a
 * database snapshot through the API, and a dashboard sign-in over plain HTTP.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { hiyEntry } from '../../harness/paths.js';

/** A folder an injected `touch` would write into; `clean()` says whether it stayed empty. */
export function markerDir(): { dir: string; file: string; clean(): boolean; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hiy-sec-marker-'));
  const file = join(dir, 'pwned');
  return { dir, file, clean: () => readdirSync(dir).length === 0, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Hostile strings that would run `touch <file>` if any of them reached a shell. */
export function injections(file: string): string[] {
  return [
    `x;touch ${file}`,
    `$(touch ${file})`,
    `\`touch ${file}\``,
    `x|touch ${file}`,
    `x&&touch ${file}`,
    `x\ntouch ${file}`,
    `--upload-pack=touch ${file}`,
    `-c core.sshCommand=touch ${file}`,
  ];
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte (paths are not normalised); closes after the answer. */
export function rawHttp(base: string, request: string | Buffer, timeoutMs = 15_000): Promise<RawAnswer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
    sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      const text = buf.toString('latin1');
      const head = text.split('\r\n\r\n', 1)[0] ?? '';
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!m) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body: text.slice(head.length + 4) });
    });
    sock.write(request);
  });
}

/** A GET with `connection: close`, path sent exactly as given. */
export function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const u = new URL(base);
  const lines = [`GET ${path} HTTP/1.1`, `host: ${u.host}`, 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return rawHttp(base, `${lines.join('\r\n')}\r\n\r\n`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `hiy <args>` as a real process against a server. */
export function cli(server: { url: string; token: string }, args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), HIY_URL: server.url, HIY_TOKEN: server.token, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.end(opts.stdin ?? '');
  });
}

/** What the API says about every app (settings, env keys, deploys) and the tokens: compared before and after an attack. */
export async function snapshot(server: { url: string; token: string; dataDir: string }): Promise<string> {
  const api = apiClient(server);
  const apps = (await api('GET', '/apps')).body.apps as { name: string }[];
  const detail = [];
  for (const a of apps) {
    detail.push({
      app: (await api('GET', `/apps/${a.name}`)).body,
      env: (await api('GET', `/apps/${a.name}/env`)).body,
      deploys: (await api('GET', `/apps/${a.name}/deploys`)).body,
    });
  }
  const tokens = (await api('GET', '/tokens')).body.tokens as { id: number; revoked_at: string | null }[];
  const repos = existsSync(join(server.dataDir, 'repos')) ? readdirSync(join(server.dataDir, 'repos')).sort() : [];
  return JSON.stringify({ detail, tokens: tokens.map((t) => [t.id, t.revoked_at]), repos });
}

/** The per-start token the pre-receive hook uses on /internal (the test reads it as the hook does). */
export function hookToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'secrets', 'hook-token'), 'utf8').trim();
}

export interface Session {
  cookie: string;
  csrf: string;
}

/** Sets the dashboard password through the API, then signs in with a plain HTTP form post. */
export async function signIn(server: { url: string; token: string }, password: string): Promise<Session> {
  const api = apiClient(server);
  const set = await api('PUT', '/dashboard/password', { password });
  if (set.status !== 200) throw new Error(`setting the password failed: ${JSON.stringify(set.body)}`);
  const page = await fetch(`${server.url}/login`);
  const login = /hiy_login=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')?.[1];
  const html = await page.text();
  const field = /name="_login" value="([^"]+)"/.exec(html)?.[1];
  if (!login || !field) throw new Error('the login page carried no login token');
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, cookie: `hiy_login=${login}` },
    body: new URLSearchParams({ _login: field, password, next: '/' }).toString(),
  });
  const cookie = /hiy_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 303 || !cookie) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const home = await (await fetch(`${server.url}/`, { headers: { cookie: `hiy_session=${cookie}` } })).text();
  const csrf = /name="_csrf" value="([^"]+)"|x-csrf-token&quot;:&quot;([^&]+)&quot;/.exec(home);
  if (!csrf) throw new Error('the dashboard page carried no CSRF token');
  return { cookie: `hiy_session=${cookie}`, csrf: csrf[1] ?? csrf[2] ?? '' };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server for push tests: Docker and the busybox base image ready, hiy started, these apps created. */
export async function serverWithApps(apps: { name: string; port?: number }[], env: Record<string, string> = {}): Promise<{ hiy: HiyProcess; api: ReturnType<typeof apiClient> }> {
  await ensureDocker();
  await ensureBusyboxImage();
  const hiy = await startHiy({ env });
  const api = apiClient(hiy);
  for (const a of apps) {
    const res = await api('POST', '/apps', { name: a.name, port: a.port ?? 8080 });
    if (res.status !== 201) throw new Error(`creating ${a.name} failed: ${JSON.stringify(res.body)}`);
  }
  return { hiy, api };
}
