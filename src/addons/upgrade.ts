/**
 * `hiy addons:upgrade`: the add-on moves to the image HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS names
 * now (pulled first when a registry answers). Within a major version the data files stay as they
 * are and only the container is replaced; across majors the files cannot be reused (PostgreSQL
 * needs pg_upgrade or a dump), so it is refused with the path that works: dump, new add-on, restore.
 */
import { HiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { addonSpec, imageIdOf, pullAddonImage, startAddonContainer, waitReady } from './containers.js';
import type { KindContract } from './kind.js';
import { majorOf } from './kind.js';
import { kindOf } from './kinds.js';
import { validateAddonName } from './names.js';
import { PG_DATA_VERSION_CMD } from './postgres.js';
import { attachmentsOf, getAddon, updateAddon, type Addon } from './repo.js';
import { READY_TIMEOUT_SEC, type AddonServices } from './service.js';

export interface UpgradeOutcome {
  addon: string;
  upgraded: boolean;
  image: string;
  from_version: string | null;
  to_version: string;
  message: string;
}

/** Runs one command of `image` on the add-on's volume (no network): the version a new image brings, the data's version. */
async function once(runtime: Runtime, row: Addon, image: string, cmd: string[]): Promise<string> {
  const lines: string[] = [];
  const res = await runtime.runAddonOnce({ ...addonSpec(row, '', image), env: {}, cmd }, { timeoutSec: 120, onLine: (l) => lines.push(l) });
  if (res.exitCode !== 0) throw new HiyError('internal', `${cmd.join(' ')} in ${image} failed (exit code ${res.exitCode}): ${lines.slice(-3).join(' ')}`);
  return lines.join('\n');
}

/** The major of the data on the volume: PostgreSQL writes it into PG_VERSION; Redis reads older files. */
async function dataMajor(runtime: Runtime, row: Addon, k: KindContract, image: string): Promise<number | undefined> {
  if (k.kind === 'postgres') {
    const v = Number((await once(runtime, row, image, PG_DATA_VERSION_CMD)).trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  }
  return row.version ? majorOf(row.version) : undefined;
}

export function majorUpgradePath(row: Pick<Addon, 'name' | 'kind'>, k: KindContract, from: number, to: number, image: string, apps: { app: string; as: string }[]): string {
  const next = `${row.name}-${to}`.slice(0, 40);
  const app = apps[0]?.app ?? '<app>';
  const as = apps[0]?.as ?? k.defaultAs;
  return [
    `${row.name} holds ${k.label} ${from} data and ${image} runs ${k.label} ${to}: a major version cannot reuse the data files, so it is not upgraded in place. Move the data instead:`,
    `  hiy addons:dump ${row.name} > ${row.name}.${k.dumpExt}`,
    `  hiy addons:create ${app} ${k.kind} --name ${next} --as ${as}_NEW      # runs ${image}`,
    `  hiy addons:restore ${next} < ${row.name}.${k.dumpExt}`,
    `  hiy addons:detach ${row.name} ${app} && hiy addons:detach ${next} ${app} && hiy addons:attach ${next} ${app} --as ${as}`,
    `  hiy addons:destroy ${row.name} --confirm ${row.name}                 # once the app works with ${next}`,
    ...(apps.length > 1 ? [`(${row.name} is also attached to ${apps.slice(1).map((a) => a.app).join(', ')}: attach ${next} to those as well.)`] : []),
  ].join('\n');
}

export async function upgradeAddon(s: AddonServices, addon: string): Promise<UpgradeOutcome> {
  const row = await getAddon(s.db, validateAddonName(addon));
  const k = kindOf(row.kind);
  const runtime = await s.runtime();
  const image = s.config.addonImages[k.kind];
  let pullNote = '';
  try {
    await pullAddonImage(runtime, image, 1800);
  } catch (err) {
    if (!(await imageIdOf(runtime, image))) throw err;
    pullNote = ` (${image} could not be pulled, the copy on this engine is used: ${(err as Error).message})`;
  }
  const imageId = await imageIdOf(runtime, image);
  const current = await runtime.addonContainer(row.name);
  const toVersion = k.parseVersion(await once(runtime, row, image, k.versionCmd));
  if (!toVersion) throw new HiyError('internal', `${image} does not say which ${k.label} version it runs`);
  if (current && current.imageId === imageId && row.image === image) {
    return { addon: row.name, upgraded: false, image, from_version: row.version, to_version: toVersion, message: `${row.name} already runs ${image} (${k.label} ${toVersion})${pullNote}` };
  }
  const from = await dataMajor(runtime, row, k, image);
  if (from !== undefined && from !== majorOf(toVersion)) {
    const apps = (await attachmentsOf(s.db, { addon: row.name })).map((a) => ({ app: a.app, as: a.as_name }));
    throw new HiyError('conflict', majorUpgradePath(row, k, from, majorOf(toVersion), image, apps));
  }
  await replaceContainer(s, runtime, row, k, image);
  await updateAddon(s.db, row.name, { image, version: toVersion });
  s.log.info({ addon: row.name, image, from: row.version, to: toVersion }, 'add-on upgraded');
  return { addon: row.name, upgraded: true, image, from_version: row.version, to_version: toVersion, message: `${row.name} upgraded from ${k.label} ${row.version ?? '?'} to ${toVersion} (${image})${pullNote}` };
}

/** The old container goes, a new one on the same volume comes and rejoins the apps; if it does not answer, the old image comes back. */
async function replaceContainer(s: AddonServices, runtime: Runtime, row: Addon, k: KindContract, image: string): Promise<void> {
  const apps = (await attachmentsOf(s.db, { addon: row.name })).map((a) => a.app);
  const start = async (img: string) => {
    await startAddonContainer(runtime, s.secrets, row, img);
    for (const app of apps) await runtime.attachAddon(row.name, app);
    await waitReady(runtime, row.name, k, READY_TIMEOUT_SEC);
  };
  const old = await runtime.addonContainer(row.name);
  if (old) {
    await runtime.stop(old.id, k.stopTimeoutSec);
    await runtime.remove(old.id);
  }
  try {
    await start(image);
  } catch (err) {
    s.log.error({ err, addon: row.name, image }, 'the upgraded add-on did not start; going back to its previous image');
    const failed = await runtime.addonContainer(row.name);
    if (failed) await runtime.remove(failed.id);
    await start(row.image).catch((e: unknown) => s.log.error({ err: e, addon: row.name }, 'the previous image did not start either'));
    throw new HiyError('internal', `${row.name} did not start on ${image}; it runs ${row.image} again: ${(err as Error).message}`);
  }
}
