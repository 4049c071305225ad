/** What hiy needs from the reverse proxy. One real adapter: caddy.ts (Caddy admin API). */
import type { LiveSlot } from './live.js';

export interface AppRoute {
  app: string;
  /**
   * The app's slot index: its route slot in Caddy's config and its fixed upstream ports (two per
   * web replica index from HIY_SLOT_PORT_BASE, slots.ts allSlotPorts). Never changes for an app.
   */
  slotIndex: number;
  /** Custom hostnames routed to the app besides <app>.<domain> (hiy domains:add). */
  extraHosts?: string[];
  /**
   * Answer every request with a small 503 page instead of the app (notices.ts): `maintenance`
   * (hiy maintenance:on) or `stopped` (hiy ps:stop of web). A file Caddy reads per request: no reload.
   */
  notice?: Notice;
}

export type Notice = 'maintenance' | 'stopped';

export interface Proxy {
  /** Makes sure a Caddy answers on the admin address (starting a child if none does) and loads hiy's base config. */
  start(): Promise<void>;
  /** Replaces every app route at once (at start, after reconciliation). */
  syncRoutes(routes: AppRoute[]): Promise<void>;
  /** Adds or replaces one app's route (app created, domains changed): no reload of the proxy. */
  setRoute(route: AppRoute): Promise<void>;
  removeRoute(app: string): Promise<void>;
  /**
   * Sends the app's new requests to `live` (one slot's first N web replicas) from now on, without
   * any config change (live.ts); undefined = every slot port (nothing deployed).
   */
  setLive(app: string, live: LiveSlot | undefined): Promise<void>;
  /**
   * The hosts app processes' slot ports answer on (Runtime.upstreamHosts): each route lists every
   * slot port on every host. A change reloads Caddy once; an equal list changes nothing.
   */
  setUpstreamHosts(hosts: string[]): Promise<void>;
  /**
   * HIY_TLS=dns: the certificates Caddy serves as they are (hiy's wildcard), replacing the ones
   * given before. Part of the config from then on: a change reloads Caddy, an equal one does not.
   */
  setCertificates(certs: { certificate: string; key: string }[]): Promise<void>;
  /**
   * The root certificate (PEM) of the proxy's own CA, which signs every certificate with
   * HIY_TLS=internal (LAN-only boxes); undefined when it has none yet. What browsers, git and the
   * CLI are told to trust (hiy ca).
   */
  localRoot(): Promise<string | undefined>;
  /** Requests Caddy is proxying to these upstream ports right now; undefined when it cannot tell. */
  inFlight(ports: number[]): Promise<number | undefined>;
  /** Stops the child Caddy if hiy started it. */
  stop(): Promise<void>;
}
