/**
 * Retiring containers that served requests (an old release after a switch, web replicas scaled
 * away): Caddy already sends them nothing new (the live marker moved, proxy/live.ts), so wait
 * until the requests Caddy is still proxying to them are answered, then stop them (SIGTERM,
 * SIGKILL when the rest of the drain time is up) and remove them. Everything within drain_s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '../apps/repo.js';
import type { LiveSlot } from '../proxy/live.js';
import type { Proxy } from '../proxy/proxy.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';

export interface DrainDeps {
  proxy: Pick<Proxy, 'inFlight'>;
  runtime: Pick<Runtime, 'stop' | 'remove'>;
}

/** A request Caddy matched just before the marker moved picks its upstream microseconds later. */
const SETTLE_MS = 50;
const POLL_MS = 50;
/** When Caddy cannot report in-flight requests, this long (within drain_s) stands in for them. */
const BLIND_WAIT_MS = 1_000;

/**
 * The switch: the live marker moves, so Caddy sends every new request to `live` (one rename, no
 * config change, no connection closed); then what served before finishes the requests it has
 * and stops (drainAndStop). Never the other way round: a release Caddy may still pick is never
 * stopped (decision 10). `switched` is told right after the marker moved, before any wait.
 */
export async function switchTraffic(
  d: { proxy: Pick<Proxy, 'setLive' | 'inFlight'>; runtime: DrainDeps['runtime'] }, app: Pick<App, 'name' | 'drain_s'>, live: LiveSlot, old: ContainerInfo[], switched?: () => void,
): Promise<void> {
  await d.proxy.setLive(app.name, live);
  switched?.();
  await drainAndStop(d, app, old);
}

export async function drainAndStop(d: DrainDeps, app: Pick<App, 'drain_s'>, containers: ContainerInfo[]): Promise<void> {
  if (containers.length === 0) return;
  const deadline = Date.now() + app.drain_s * 1000;
  const ports = containers.flatMap((c) => (c.hostPort === null ? [] : [c.hostPort]));
  if (ports.length > 0) await waitUntilIdle(d.proxy, ports, deadline);
  const graceSec = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  await Promise.all(containers.map(async (c) => {
    await d.runtime.stop(c.id, graceSec);
    await d.runtime.remove(c.id);
  }));
}

/** Resolves once Caddy proxies nothing to `ports` (or at `deadline`, whichever comes first). */
export async function waitUntilIdle(proxy: DrainDeps['proxy'], ports: number[], deadline: number): Promise<void> {
  const upTo = (ms: number) => sleep(Math.max(0, Math.min(ms, deadline - Date.now())));
  await upTo(SETTLE_MS);
  while (Date.now() < deadline) {
    const n = await proxy.inFlight(ports);
    if (n === 0) return;
    if (n === undefined) return upTo(BLIND_WAIT_MS - SETTLE_MS);
    await upTo(POLL_MS);
  }
}
