import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './git.js';

/** Caddy's local root certificate, wherever under the data dir Caddy keeps its PKI. */
export function findRootCert(dir: string): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of entries) {
    const p = join(dir, name);
    let isDir = false;
    try { isDir = statSync(p).isDirectory(); } catch { continue; }
    if (isDir) {
      const found = findRootCert(p);
      if (found) return found;
    } else if (name === 'root.crt' && p.includes(join('authorities', 'local'))) {
      return p;
    }
  }
  return undefined;
}

export interface CurlResult {
  code: number;
  body: string;
  status: string;
}

/** `curl https://<app>.localhost:<port>/` through hiy's Caddy, trusting only Caddy's local CA. */
export async function curlApp(server: { dataDir: string; env: Record<string, string> }, app: string, path = '/', maxTimeS = 15): Promise<CurlResult> {
  return curlHost(server, `${app}.localhost`, path, maxTimeS);
}

/** `curl https://<host>:<port>/` through hiy's Caddy (resolved to 127.0.0.1), trusting only its local CA. */
export async function curlHost(server: { dataDir: string; env: Record<string, string> }, host: string, path = '/', maxTimeS = 15): Promise<CurlResult> {
  const port = server.env.HIY_HTTPS_PORT!;
  let ca: string | undefined;
  for (let i = 0; i < 100 && !(ca = findRootCert(server.dataDir)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(ca, 'Caddy wrote its local root certificate under the data dir');
  const r = await run('curl', ['-sS', '--max-time', String(maxTimeS), '--cacert', ca, '--resolve', `${host}:${port}:127.0.0.1`,
    '-w', '\n%{http_code}', `https://${host}:${port}${path}`]);
  const i = r.stdout.lastIndexOf('\n');
  return { code: r.code, body: r.stdout.slice(0, i), status: r.stdout.slice(i + 1) };
}
