/** Shared steps of the TLS tests. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { getApp } from '../../src/apps/repo.js';
import { allSlotPorts } from '../../src/slots.js';
import { startSlotServer, type SlotServer } from '../../harness/caddy.js';
import { apiClient, type InProcessHiy } from '../../harness/server.js';
import { until } from '../helpers/tls-client.js';

/** Waits for the first successful order of the wildcard; a failed one fails the test with its error. */
export async function firstWildcard(hiy: InProcessHiy, timeoutMs = 60_000): Promise<any> {
  const api = apiClient(hiy);
  return until('the wildcard certificate', async () => {
    const cur = (await api('GET', '/certs')).body.wildcard;
    if (cur?.last_result === 'failed') throw new Error(cur.last_error);
    return cur?.last_result === 'ok' ? cur : undefined;
  }, timeoutMs);
}

/** Creates an app and plays its release with plain HTTP servers on every slot port (no Docker needed). */
export async function appOnSlots(hiy: InProcessHiy, name: string, body: string): Promise<SlotServer[]> {
  assert.equal((await apiClient(hiy)('POST', '/apps', { name })).status, 201);
  const route = await getApp(hiy.running.services.db, name);
  return Promise.all(allSlotPorts(route, hiy.running.services.config.slotPortBase).map((port) => startSlotServer(port, body)));
}

/** HIY_ACME_CA and its root for a pebble. */
export function acmeEnv(pebble: { directory: string; listenerRootFile: string }): Record<string, string> {
  return { HIY_ACME_CA: pebble.directory, HIY_ACME_CA_ROOT: pebble.listenerRootFile };
}

/** after(): slot servers, then hiy, then the test servers (in the order given), then the temp dir. */
export async function stopAll(slots: SlotServer[], servers: ({ stop(): Promise<unknown> } | undefined)[], dir: string | undefined): Promise<void> {
  for (const s of slots) await s.close('abrupt');
  for (const s of servers) await s?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
