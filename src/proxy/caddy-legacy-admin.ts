/**
 * The upgrade from a TCP admin API. A caddy.service started before install.sh gave it the socket
 * drop-in (infra/caddy-hiy.conf) still listens on 127.0.0.1:2019 and serves every app; moving it
 * means a restart or a config reload, and either drops requests. So a root hiy with default
 * settings that finds nothing on its socket uses that Caddy where it is (keeping its admin
 * address in every load, so nothing reloads for it) until Caddy comes back on the socket (its
 * next restart), but only a Caddy that runs as the `caddy` user, i.e. Debian's caddy.service: a
 * listener any other local user started on that port is never handed hiy's config.
 */
import { readFileSync } from 'node:fs';
import type { HostPort } from '../config.js';

export const LEGACY_ADMIN: HostPort = { host: '127.0.0.1', port: 2019 };

/** The uid of a local user, from /etc/passwd (undefined when there is none). */
function uidOf(user: string): number | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
    const uid = Number(line?.split(':')[2]);
    return Number.isInteger(uid) ? uid : undefined;
  } catch {
    return undefined;
  }
}

/** The uid owning the TCP socket that listens on 127.0.0.1:`port` (from /proc/net/tcp), if any. */
export function listenerUid(port: number): number | undefined {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address, st (0A = LISTEN), uid is the 8th field.
      if (f[1] === want && f[3] === '0A') return Number(f[7]);
    }
  } catch {
    // no /proc: no legacy Caddy is adopted
  }
  return undefined;
}

/** Whether the listener on the legacy admin port is the system caddy.service (user caddy). */
export function legacyCaddyTrusted(port = LEGACY_ADMIN.port): boolean {
  const caddy = uidOf('caddy');
  return caddy !== undefined && caddy !== 0 && listenerUid(port) === caddy;
}
