import type { Context, MiddlewareHandler } from 'hono';
import { guardStream } from '../auth/stream-guard.js';
import { tokenActive, verifyToken } from '../auth/tokens.js';
import type { TokenInfo } from '../contract.js';
import type { Services } from '../services.js';
import { clientAddress } from '../trusted-proxies.js';
import { errorBody } from './errors.js';

export type ApiEnv = { Variables: { token: TokenInfo } };

/** Pulls the API token from `Authorization: Bearer <token>` (or basic auth's password, as git sends it). */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value.trim();
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : undefined;
  }
  return undefined;
}

export function requireToken(s: Services): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const token = tokenFromAuthorization(c.req.header('authorization'));
    const info = token ? await verifyToken(s.db, token) : undefined;
    if (!info) {
      // fail2ban matches this line (infra/fail2ban); keep its shape stable.
      s.log.warn({ event: 'auth_failed', surface: 'api', ip: clientAddress(peerOf(c.env), (n) => c.req.header(n), s.trustedProxies) }, 'hiy auth failure');
      c.header('WWW-Authenticate', 'Bearer realm="hiy"');
      return c.json(errorBody('unauthorized', token ? 'invalid or revoked API token' : 'missing API token (Authorization: Bearer <token>)'), 401);
    }
    c.set('token', info);
    await next();
  };
}

/** Ends a long-lived answer (SSE) once the token it was opened with is revoked; returns the stop function. */
export function guardApiStream(s: Services, c: Context<ApiEnv>, end: () => void): () => void {
  const id = c.get('token').id;
  return guardStream(() => tokenActive(s.db, id), () => {
    s.log.info({ event: 'stream_closed', surface: 'api', token: id }, 'closed a stream: its API token was revoked');
    end();
  });
}

function peerOf(env: unknown): string | undefined {
  return (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
}
