/** HTTPS through Caddy as a client that trusts only the roots it is given (no DNS: SNI and Host name the site). */
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsAnswer {
  status: number;
  body: string;
  /** Serial (lowercase hex) and SAN names of the certificate the server presented. */
  serial: string;
  names: string[];
}

export function httpsGet(port: number, host: string, ca: string[], path = '/', headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: host, headers: { host, ...headers }, ca, agent: false, timeout: 15_000 }, (res) => {
      const x = (res.socket as TLSSocket).getPeerX509Certificate();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        body: Buffer.concat(chunks).toString('utf8'),
        serial: x?.serialNumber.toLowerCase() ?? '',
        names: (x?.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^DNS:/, '')),
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `fn` until it returns a value (not undefined) or the time is up. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
