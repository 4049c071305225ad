/**
 * A stand-in for the few documented endpoints of Cloudflare's API that hiy calls (the real one is
 * out of reach): GET /zones?name=, POST /zones/:id/dns_records, DELETE /zones/:id/dns_records/:id,
 * with Bearer-token checks and Cloudflare's error shape. TXT records it accepts are written into
 * a real DNS server (pebble-challtestsrv), so the CA really looks them up.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ChallTestSrv } from './acme-servers.js';

export interface CloudflareStandIn {
  /** Base URL (what HIY_DNS_CLOUDFLARE_API names). */
  api: string;
  token: string;
  /** Every request seen, as "METHOD path". */
  calls: string[];
  /** TXT records present now, as "name value". */
  records(): string[];
  /** From now on, refuse every request as Cloudflare does a revoked token. */
  refuse(on: boolean): void;
  stop(): Promise<void>;
}

export async function startCloudflareStandIn(zone: string, dns: ChallTestSrv): Promise<CloudflareStandIn> {
  const token = `cf-${randomBytes(20).toString('hex')}`;
  const zoneId = randomBytes(16).toString('hex');
  const records = new Map<string, { name: string; content: string }>();
  const calls: string[] = [];
  let refusing = false;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: number, message: string) => send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/client\/v4/, '');
    calls.push(`${req.method} ${path}`);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (refusing || req.headers.authorization !== `Bearer ${token}`) return fail(res, 403, 10000, 'Authentication error');
    if (req.method === 'GET' && path === '/zones') {
      const name = url.searchParams.get('name');
      return send(res, 200, { success: true, errors: [], messages: [], result: name === zone ? [{ id: zoneId, name: zone, status: 'active' }] : [] });
    }
    const m = /^\/zones\/([^/]+)\/dns_records(?:\/([^/]+))?$/.exec(path);
    if (!m || m[1] !== zoneId) return fail(res, 404, 7003, 'Could not route to the requested resource');
    if (req.method === 'POST' && !m[2]) {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { type?: string; name?: string; content?: string; ttl?: number };
      if (body.type !== 'TXT' || !body.name || !body.content || !(body.name === zone || body.name.endsWith(`.${zone}`))) {
        return fail(res, 400, 9005, 'Content for TXT record is invalid');
      }
      const id = randomBytes(16).toString('hex');
      records.set(id, { name: body.name, content: body.content });
      await dns.setTxt(body.name, body.content);
      return send(res, 200, { success: true, errors: [], messages: [], result: { id, type: 'TXT', name: body.name, content: body.content, ttl: body.ttl ?? 1 } });
    }
    if (req.method === 'DELETE' && m[2]) {
      const rec = records.get(m[2]);
      if (!rec) return fail(res, 404, 81044, 'Record does not exist.');
      records.delete(m[2]);
      // challtestsrv clears a name at once: the name's other records go back in.
      await dns.clearTxt(rec.name);
      for (const r of records.values()) if (r.name === rec.name) await dns.setTxt(r.name, r.content);
      return send(res, 200, { success: true, errors: [], messages: [], result: { id: m[2] } });
    }
    return fail(res, 405, 10000, 'Method not allowed');
  }

  const server: Server = createServer((req, res) => { handle(req, res).catch((err: Error) => fail(res, 500, 1000, err.message)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    api: `http://127.0.0.1:${port}/client/v4`,
    token,
    calls,
    records: () => [...records.values()].map((r) => `${r.name} ${r.content}`),
    refuse: (on) => { refusing = on; },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
