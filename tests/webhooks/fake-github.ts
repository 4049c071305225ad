/**
 * A local stand-in for GitHub on loopback: real `git http-backend` (smart HTTP, protocol v2 or
 * v0) behind a tiny node CGI bridge, serving bare repos under a temp dir as
 * http://127.0.0.1:<port>/<owner>/<repo>.git. Knobs for the unfriendly cases: per-repo access
 * tokens (Basic x-access-token:<token>, as GitHub takes them), v0 with sha fetches refused,
 * redirects to another host, and a stall that never answers.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../harness/git.js';

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  gitProtocol: string | undefined;
}

export interface FakeRepo {
  fullName: string;
  bareDir: string;
  cloneUrl: string;
  htmlUrl: string;
}

export interface FakeGitHub {
  base: string;
  requests: SeenRequest[];
  /** false: answer as a protocol v0 server that refuses fetches of commits that are not a branch tip. */
  protocolV2: boolean;
  /** Paths under /redirect/ answer 302 to this base + the rest of the path. */
  redirectTo: string | undefined;
  createRepo(fullName: string, opts?: { token?: string }): Promise<FakeRepo>;
  close(): Promise<void>;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const root = mkdtempSync(join(tmpdir(), 'hiy-fake-github-'));
  const tokens = new Map<string, string>();
  const sockets = new Set<Socket>();
  const gh: FakeGitHub = {
    base: '',
    requests: [],
    protocolV2: true,
    redirectTo: undefined,
    async createRepo(fullName, opts = {}) {
      const bareDir = join(root, `${fullName}.git`);
      mkdirSync(join(bareDir, '..'), { recursive: true });
      const init = await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', bareDir]);
      if (init.code !== 0) throw new Error(init.stderr);
      if (opts.token) tokens.set(`/${fullName}.git`, opts.token);
      return { fullName, bareDir, cloneUrl: `${gh.base}/${fullName}.git`, htmlUrl: `${gh.base}/${fullName}` };
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      rmSync(root, { recursive: true, force: true });
    }),
  };

  const server: Server = createServer((req, res) => {
    gh.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, gitProtocol: header(req, 'git-protocol') });
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/stall/')) return; // never answers: the client's timeout must act
    if (url.pathname.startsWith('/redirect/')) {
      res.writeHead(302, { location: `${gh.redirectTo ?? 'http://127.0.0.1:9'}${url.pathname.slice('/redirect'.length)}${url.search}` });
      return void res.end();
    }
    const repo = /^(\/[^/]+\/[^/]+\.git)\//.exec(url.pathname)?.[1];
    const token = repo ? tokens.get(repo) : undefined;
    if (token && req.headers.authorization !== `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
      return void res.end('Bad credentials\n');
    }
    cgi(root, gh.protocolV2, req, res, url);
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  gh.base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return gh;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Runs git http-backend as a CGI program: request body on stdin, CGI headers + body on stdout. */
function cgi(root: string, v2: boolean, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: root,
    PATH_INFO: decodeURIComponent(url.pathname),
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: '127.0.0.1',
    CONTENT_TYPE: header(req, 'content-type') ?? '',
  };
  const len = header(req, 'content-length');
  if (len) env.CONTENT_LENGTH = len;
  const enc = header(req, 'content-encoding');
  if (enc) env.HTTP_CONTENT_ENCODING = enc;
  const proto = header(req, 'git-protocol');
  if (v2 && proto) env.GIT_PROTOCOL = proto;
  // v2 serves any reachable commit; a v0 server refuses a sha that is not a ref tip.
  const child = spawn(HTTP_BACKEND, [], { env: { ...env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'uploadpack.allowReachableSHA1InWant', GIT_CONFIG_VALUE_0: v2 ? 'true' : 'false' }, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => {});
  child.stderr.resume();
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const sep = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (sep < 0) return;
    const sepLen = head[sep] === 13 ? 4 : 2;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
      else headers[k] = v;
    }
    headersDone = true;
    res.writeHead(status, headers);
    res.write(head.subarray(sep + sepLen));
  });
  child.stdout.on('end', () => res.end());
  child.on('error', () => { if (!res.headersSent) res.writeHead(500); res.end(); });
}
