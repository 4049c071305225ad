/**
 * A small client for Caddy's admin API: JSON over HTTP on a unix socket (the default) or a
 * loopback TCP address.
 */
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { CaddyAdminAddress } from '../config.js';
import { HiyError } from '../errors.js';
import { adminLabel, joinHostPort } from './caddy-config.js';
import type { Json, JsonObject } from './caddy-json.js';

export type AdminProbe = 'caddy' | 'none' | 'other';

export interface CaddyAdmin {
  /** Where it talks to, for messages: `http://127.0.0.1:2019` or `unix:/run/hiy/caddy-admin/admin.sock`. */
  readonly baseUrl: string;
  /** Who answers on the admin address: a Caddy, nothing at all, or some other HTTP server. */
  probe(): Promise<AdminProbe>;
  /** Replaces the whole running config. Caddy skips the reload when the config is unchanged. */
  load(config: JsonObject): Promise<void>;
  /** GET of a config path (`/config/...` or `/id/...`); undefined when the path does not exist. */
  get(path: string): Promise<Json | undefined>;
}

const REQUEST_TIMEOUT_MS = 15_000;

interface AdminResponse {
  status: number;
  ok: boolean;
  contentType: string;
  text: string;
}

export function createCaddyAdmin(address: CaddyAdminAddress): CaddyAdmin {
  const socket = 'socket' in address ? address.socket : undefined;
  const baseUrl = 'socket' in address ? adminLabel(address) : `http://${joinHostPort(address.host, address.port)}`;

  // node:http rather than fetch: the first fetch loads undici, ~10 MB of RSS for an idle hiy.
  function call(method: string, path: string, body?: Json, timeoutMs = REQUEST_TIMEOUT_MS): Promise<AdminResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      const options: RequestOptions = {
        // A fresh connection per call: Caddy closes its admin connections when a load reloads
        // it, and a pooled socket would then fail the next call with "socket hang up".
        agent: false,
        method,
        // Over a unix socket Caddy accepts only an empty Host header (its allowed origin there).
        ...(socket ? { socketPath: socket, path, setHost: false, headers: { ...headers, host: '' } } : { headers }),
      };
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') });
        });
      };
      const req = socket ? request(options, onResponse) : request(baseUrl + path, options, onResponse);
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      function fail(err: unknown) {
        clearTimeout(timer);
        reject(new HiyError('unavailable', `Caddy admin API at ${baseUrl} did not answer ${method} ${path}: ${describe(err)}`, { cause: err }));
      }
      req.on('error', fail);
      req.end(payload);
    });
  }

  return {
    baseUrl,
    async probe() {
      let res: AdminResponse;
      try {
        res = await call('GET', '/config/', undefined, 2_000);
      } catch {
        return 'none';
      }
      const text = res.text;
      if (!res.ok) return 'other';
      // Caddy answers `null` (empty config) or a JSON object, as application/json.
      if (!res.contentType.includes('application/json')) return 'other';
      try {
        const parsed: unknown = JSON.parse(text);
        return parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed)) ? 'caddy' : 'other';
      } catch {
        return 'other';
      }
    },
    async load(config) {
      const res = await call('POST', '/load', config);
      if (!res.ok) {
        throw new HiyError('internal', `Caddy rejected hiy's config (${res.status}): ${res.text.trim().slice(0, 2000)}`);
      }
    },
    async get(path) {
      const res = await call('GET', path);
      const text = res.text;
      // Caddy 2.6 answers a missing path with 400 ("invalid traversal path"/"unknown object ID") or 404.
      if (res.status === 404 || res.status === 400) return undefined;
      if (!res.ok) throw new HiyError('unavailable', `Caddy admin GET ${path} failed (${res.status}): ${text.trim().slice(0, 500)}`);
      return JSON.parse(text) as Json;
    },
  };
}

function describe(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; message?: string };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
