/**
 * Add-ons after a start of hiy (a crash included): the database is the truth. Every add-on has a
 * running container on its own network and on the networks of exactly the apps it is attached
 * to; containers of add-ons that no longer exist go (their volumes stay: data is never removed
 * by a guess).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import { startAddonContainer } from './containers.js';
import { attachmentsOf, listAddons } from './repo.js';

export interface ReconcileDeps {
  db: Kysely<Database>;
  log: Logger;
  secrets: SecretBox;
  runtime(): Promise<Runtime>;
  instanceId: string;
}

export async function reconcileAddons(s: ReconcileDeps): Promise<void> {
  const rows = await listAddons(s.db);
  // Without add-ons there is nothing to look at, and an idle hiy does not load the engine client.
  if (rows.length === 0) return;
  const runtime = await s.runtime();
  const attachments = await attachmentsOf(s.db);
  const containers = await runtime.listAddonContainers();
  for (const c of containers.filter((c) => c.instance === s.instanceId && !rows.some((r) => r.name === c.addon))) {
    s.log.warn({ addon: c.addon, container: c.name }, 'removing the container of an add-on that no longer exists (its volume is kept)');
    await runtime.remove(c.id);
  }
  for (const row of rows) {
    try {
      let c = containers.find((x) => x.addon === row.name);
      if (c && c.instance !== s.instanceId) {
        s.log.error({ addon: row.name, container: c.name, instance: c.instance }, 'the add-on\'s container belongs to another hiy on this engine; leaving it alone');
        continue;
      }
      if (!c) {
        s.log.warn({ addon: row.name }, 'the add-on had no container; starting one on its volume');
        c = await startAddonContainer(runtime, s.secrets, row);
      } else if (!c.running) {
        s.log.warn({ addon: row.name, state: c.state }, 'the add-on was not running; starting it');
        await runtime.start(c.id);
      }
      const want = new Set(attachments.filter((a) => a.addon === row.name).map((a) => a.app));
      for (const app of want) if (!c.apps.includes(app)) await runtime.attachAddon(row.name, app);
      for (const app of c.apps) if (!want.has(app)) await runtime.detachAddon(row.name, app);
    } catch (err) {
      s.log.error({ err, addon: row.name }, 'could not bring the add-on back');
    }
  }
}
