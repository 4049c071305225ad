import type { IncomingMessage, ServerResponse } from 'node:http';
import { servedHosts } from '../apps/domains.js';
import { coveredByWildcard } from '../proxy/caddy-tls.js';
import type { Services } from '../services.js';

/**
 * `GET /internal/tls-ask?domain=<host>`: Caddy asks before it gets a certificate on demand (app
 * hosts and custom domains are in no host matcher, caddy-config.ts). 200 for a host hiy serves,
 * 404 for anything else, so a name somebody pointed at this box gets no certificate, and with
 * HIY_TLS=dns none for a host hiy's wildcard covers (also not while the wildcard is being obtained).
 * Only Caddy calls it, on the loopback listener: never answered through Caddy itself.
 */
export function createTlsAsk(s: Pick<Services, 'db' | 'config'>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const answer = (status: number) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(status === 200 ? 'ok\n' : 'no\n');
    };
    if (req.method !== 'GET' || req.headers['x-forwarded-for'] !== undefined || req.headers['via'] !== undefined) return answer(403);
    const host = new URL(req.url ?? '/', 'http://x').searchParams.get('domain')?.toLowerCase();
    if (!host) return answer(400);
    if (s.config.tls === 'dns' && coveredByWildcard(host, s.config.domain)) return answer(404);
    servedHosts(s.db, s.config.domain).then(
      (hosts) => answer(hosts.some((h) => h.toLowerCase() === host) ? 200 : 404),
      () => answer(503),
    );
  };
}
