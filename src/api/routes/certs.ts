import { Hono } from 'hono';
import type { Services } from '../../services.js';
import type { WildcardStatus } from '../../tls/wildcard.js';
import type { ApiEnv } from '../auth.js';
import { HiyError } from '../../errors.js';

/** GET /certs (every certificate Caddy serves, hiy's wildcard state) and POST /certs/renew. */
export function certRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/', async (c) => {
    const listing = await s.certificates.list();
    return c.json({ ...listing, wildcard: wildcardJson(listing.wildcard) });
  });

  // The root of Caddy's own CA (HIY_TLS=internal), for browsers, git and the CLI to trust (hiy ca).
  r.get('/ca', async (c) => {
    const root = await s.proxy.localRoot();
    if (!root) throw new HiyError('not_found', 'Caddy has no local CA yet: it makes one the first time it serves a host with HIY_TLS=internal');
    return c.json({ tls: s.config.tls, root_certificate: root });
  });

  // Waits for the order (seconds to a minute with Let's Encrypt); a failure answers 503 with the reason.
  r.post('/renew', async (c) => c.json({ wildcard: wildcardJson(await s.certificates.renew()) }));

  return r;
}

function wildcardJson(w: WildcardStatus | null) {
  if (!w) return null;
  const cert = w.certificate;
  return {
    names: w.names,
    provider: w.provider,
    directory: w.directory,
    certificate: cert ? {
      names: cert.names,
      issuer: cert.issuer,
      serial: cert.serial,
      not_before: cert.notBefore.toISOString(),
      not_after: cert.notAfter.toISOString(),
    } : null,
    renew_at: w.renew_at,
    renewing: w.renewing,
    ...w.state,
  };
}
