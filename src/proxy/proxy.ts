/** What hiy needs from the reverse proxy. One real adapter: caddy.ts (Caddy admin API). */

export interface AppRoute {
  app: string;
  /**
   * The app's fixed upstream slots (127.0.0.1:<port>): two per web replica index (a0, b0, a1, b1, …,
   * see apps/repo.ts allSlotPorts). The list never changes during a deploy or a scale.
   */
  slotPorts: number[];
  /**
   * When set, Caddy actively checks this path on each slot and sends traffic only to slots that
   * answer 2xx/3xx there, so a release starting on the preferred slot gets no request before it is
   * ready. Caddy 2.6 cannot express hiy's "any status below 500", so apps whose health path answers
   * 4xx get passive checks only (undefined).
   */
  activeHealthPath?: string;
  /** Custom hostnames routed to the app besides <app>.<domain> (hiy domains:add). */
  extraHosts?: string[];
}

export interface Proxy {
  /** Makes sure a Caddy answers on the admin address (starting a child if none does) and loads hiy's base config. */
  start(): Promise<void>;
  /** Replaces every app route at once (at start, after reconciliation). */
  syncRoutes(routes: AppRoute[]): Promise<void>;
  /** Adds or replaces one app's route (app created). */
  setRoute(route: AppRoute): Promise<void>;
  removeRoute(app: string): Promise<void>;
  /** Stops the child Caddy if hiy started it. */
  stop(): Promise<void>;
}
