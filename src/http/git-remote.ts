import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_NAME_RE } from '../apps/names.js';
import { findApp } from '../apps/repo.js';
import { verifyToken } from '../auth/tokens.js';
import { tokenFromAuthorization } from '../api/auth.js';
import type { SmartHttpAction } from '../git/smart-http.js';
import type { Services } from '../services.js';
import { clientAddress } from '../trusted-proxies.js';

const GIT_PATH_RE = /^\/git\/([a-z][a-z0-9-]{0,29})\.git\/(info\/refs|git-upload-pack|git-receive-pack|HEAD)$/;
const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${message}\n`);
}

/** The client's address; behind the local Caddy, from what it forwards (as the API does). */
function clientIpOf(req: IncomingMessage, trusted: Services['trustedProxies']): string | undefined {
  return clientAddress(req.socket.remoteAddress, (n) => {
    const v = req.headers[n];
    return Array.isArray(v) ? v.join(', ') : v;
  }, trusted);
}

/**
 * Smart-HTTP git remote at /git/<app>.git. node-git-server only checks credentials on
 * GET info/refs, so every request (pack POSTs included) is authenticated here first, and the
 * path is matched strictly before the repos (src/git) ever see it.
 */
export function createGitRemote(s: Pick<Services, 'db' | 'log' | 'repos' | 'trustedProxies'>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const raw = req.url ?? '';
      const q = raw.indexOf('?');
      const pathname = q >= 0 ? raw.slice(0, q) : raw;
      const query = q >= 0 ? raw.slice(q + 1) : '';
      // No decoding: an encoded dot or slash is never part of a valid repo path.
      const m = GIT_PATH_RE.exec(pathname);
      if (!m || pathname.includes('%')) return refuse(res, 404, 'not a hiy git repository path (expected /git/<app>.git)');
      const [, app, action] = m as unknown as [string, string, SmartHttpAction];
      if (!APP_NAME_RE.test(app)) return refuse(res, 404, 'repository not found');
      if (action === 'info/refs') {
        const service = new URLSearchParams(query).get('service');
        if (!service || !SERVICES.has(service)) return refuse(res, 403, 'only smart HTTP (git-upload-pack, git-receive-pack) is served');
      } else if (action === 'HEAD') {
        if (req.method !== 'GET') return refuse(res, 405, 'method not allowed');
      } else if (req.method !== 'POST') {
        return refuse(res, 405, 'method not allowed');
      }

      const token = tokenFromAuthorization(req.headers.authorization);
      const info = token ? await verifyToken(s.db, token) : undefined;
      if (!info) {
        // git always asks once without credentials and retries with them after the 401: only a
        // presented, wrong token is a failure (fail2ban counts these lines: infra/fail2ban).
        if (token) s.log.warn({ event: 'auth_failed', surface: 'git', ip: clientIpOf(req, s.trustedProxies) }, 'hiy auth failure');
        return refuse(res, 401, token ? 'invalid or revoked token' : 'authentication required: use an API token as the password', {
          'www-authenticate': 'Basic realm="hiy"',
        });
      }
      if (!(await findApp(s.db, app)) || !(await s.repos.exists(app))) {
        return refuse(res, 404, `app "${app}" not found (create it first: hiy create ${app})`);
      }
      await s.repos.serveHttp(app, action, query, req, res);
    } catch (err) {
      s.log.error({ err }, 'git request failed');
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    }
  };
}
