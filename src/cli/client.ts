import { Readable } from 'node:stream';
import type WebSocket from 'ws';
import { CliError } from './errors.js';
import { API_VERSION, API_VERSION_HEADER } from '../version.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** The only way the CLI talks to hiy: JSON over the REST API with a bearer token. */
export interface ApiClient {
  readonly url: string;
  /** `timeoutMs`: for requests the server works on for long (an add-on's first start pulls its image). */
  request<T = any>(method: Method, path: string, body?: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  /**
   * A request whose body or answer is a byte stream (add-on dumps and restores): no timeout, the
   * body (when given) streams from `upload`; API errors throw as for request().
   */
  transfer(method: Method, path: string, opts?: { upload?: Readable; signal?: AbortSignal }): Promise<Response>;
  /** A GET whose body the caller reads as it arrives (SSE); API errors throw as for request(). */
  open(path: string, opts?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;
  /** A POST of a stream (an image archive), sent as it is read; the JSON answer as for request(). */
  upload<T = any>(path: string, body: Readable, contentType: string): Promise<T>;
  /** A WebSocket to an API route (the run channel), open; API errors throw as for request(). */
  socket(path: string): Promise<WebSocket>;
}

const TIMEOUT_MS = 60_000;

/** Accepts "http(s)://host[:port]" with or without a trailing slash or /api/v1. */
export function normalizeServerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new CliError(`"${raw}" is not a URL (for example http://127.0.0.1:3000 or https://hiy.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`"${raw}" is not an http:// or https:// URL`);
  if (url.username || url.password) throw new CliError('put the token in HIY_TOKEN or hiy login, not in the URL');
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}`;
}

/** A path segment from user input, so "a/b" or "../x" reach the server as one (refused) name. */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

export function createApiClient(url: string, token: string): ApiClient {
  const base = normalizeServerUrl(url);
  return {
    url: base,
    async request(method, path, body, opts = {}) {
      // x-hiy-client lets the server record deploys the CLI started as triggered_by "cli".
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', 'x-hiy-client': 'cli' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS),
        });
      } catch (cause) {
        throw unreachable(base, cause);
      }
      checkApiVersion(base, res);
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new CliError(`unexpected answer from ${base} (HTTP ${res.status}, not JSON): is HIY_URL the hiy server?`);
      }
      if (!res.ok) throw apiError(res.status, parsed);
      return parsed as any;
    },
    async upload(path, body, contentType) {
      let res: Response;
      try {
        // No timeout: a large archive takes as long as the uplink needs; the server bounds stalls.
        res = await fetch(`${base}/api/v1${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': contentType, 'x-hiy-client': 'cli' },
          body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
          duplex: 'half',
        } as RequestInit);
      } catch (cause) {
        const why = reason(cause);
        if (/ECONNRESET|EPIPE|UND_ERR_SOCKET/.test(why)) throw new CliError(`hiy at ${base} closed the connection during the upload: the archive is probably larger than its limit (HIY_IMAGE_UPLOAD_MAX_MB)`, { cause });
        throw new CliError(`cannot reach hiy at ${base}: ${why}`, { cause });
      }
      const text = await res.text();
      let parsed: unknown;
      try { parsed = text === '' ? {} : JSON.parse(text); } catch { parsed = undefined; }
      if (!res.ok) throw apiError(res.status, parsed);
      if (parsed === undefined) throw new CliError(`unexpected answer from ${base} (HTTP ${res.status}, not JSON): is HIY_URL the hiy server?`);
      return parsed as any;
    },
    async transfer(method, path, opts = {}) {
      let res: Response;
      try {
        res = await fetch(`${base}/api/v1${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`, 'x-hiy-client': 'cli',
            ...(opts.upload ? { 'content-type': 'application/octet-stream' } : {}),
          },
          ...(opts.upload ? { body: Readable.toWeb(opts.upload) as unknown as BodyInit, duplex: 'half' } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        } as RequestInit);
      } catch (cause) {
        throw new CliError(`cannot reach hiy at ${base}: ${reason(cause)}`, { cause });
      }
      if (!res.ok) throw await failure(res);
      return res;
    },
    async open(path, opts = {}) {
      let res: Response;
      try {
        // No timeout: a followed stream stays open as long as the user watches.
        res = await fetch(`${base}/api/v1${path}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'x-hiy-client': 'cli', ...opts.headers },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (cause) {
        throw unreachable(base, cause);
      }
      checkApiVersion(base, res);
      if (!res.ok) throw await failure(res);
      return res;
    },
    socket: (path) => openSocket(base, token, path),
  };
}

/** Opens a WebSocket with the token; an HTTP answer instead of the upgrade becomes the API's error. */
async function openSocket(base: string, token: string, path: string): Promise<WebSocket> {
  // Loaded here: only `hiy run` needs it.
  const { default: WebSocketClient } = await import('ws');
  const url = `${base.replace(/^http/, 'ws')}/api/v1${path}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(url, { headers: { authorization: `Bearer ${token}`, 'x-hiy-client': 'cli' }, perMessageDeflate: false, handshakeTimeout: TIMEOUT_MS });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString('utf8'); });
      res.on('end', () => {
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        reject(apiError(res.statusCode ?? 0, parsed));
      });
      res.on('error', () => reject(apiError(res.statusCode ?? 0, undefined)));
    });
    ws.once('error', (cause) => reject(unreachable(base, cause)));
  });
}

/** What to check, after what went wrong: the URL, the server, a proxy or TLS in between. */
function unreachable(base: string, cause: unknown): CliError {
  const why = reason(cause);
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(why)
    ? ' The server\'s certificate is not trusted here: with HIY_TLS=internal, trust hiy\'s root (hiy ca; NODE_EXTRA_CA_CERTS=<file>).'
    : '';
  return new CliError(`cannot reach hiy at ${base}: ${why}. Check the URL (HIY_URL, or hiy login --url), `
    + `that hiy runs there (on the box: systemctl status hiy, or curl ${base}/api/v1/health) and that this machine can reach it.${tls}`,
  { cause, code: 'unreachable' });
}

/**
 * A server that speaks another API version would misread this CLI's requests, or this CLI its
 * answers: refuse, and say where the matching CLI is. Servers before the header are let through.
 */
function checkApiVersion(base: string, res: Response): void {
  const theirs = res.headers.get(API_VERSION_HEADER);
  if (theirs === null || theirs === String(API_VERSION)) return;
  throw new CliError(`the server at ${base} speaks API version ${theirs}, this hiy CLI version ${API_VERSION}: `
    + `get the matching CLI from ${base}/cli/hiy (docs/cli.md)`, { code: 'api_version' });
}

/** GET /api/v1/health, which needs no token: the server's version, for `hiy version`. */
export async function serverHealth(url: string): Promise<{ ok: boolean; ready: boolean; version: string; api_version: number }> {
  const base = normalizeServerUrl(url);
  let res: Response;
  try {
    res = await fetch(`${base}/api/v1/health`, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  } catch (cause) {
    throw unreachable(base, cause);
  }
  if (!res.ok) throw new CliError(`${base}/api/v1/health answered HTTP ${res.status}: is HIY_URL the hiy server?`);
  return await res.json() as { ok: boolean; ready: boolean; version: string; api_version: number };
}

/** The error of a streamed request's answer that is not a success (its body is JSON then, or not). */
async function failure(res: Response): Promise<CliError> {
  const text = await res.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return apiError(res.status, parsed);
}

function apiError(status: number, body: unknown): CliError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  let message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
  if (status === 401) message += ' (run "hiy login" or set HIY_TOKEN)';
  return new CliError(message, { code, status });
}

function reason(cause: unknown, timeoutMs = TIMEOUT_MS): string {
  const c = cause as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (c?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return c?.cause?.code ?? c?.cause?.message ?? c?.message ?? String(cause);
}
