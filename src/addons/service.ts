/**
 * The decisions about add-ons, once for the API and the dashboard: making one (its password from
 * the CSPRNG, stored encrypted), attaching it to apps and detaching it (the app restarts through
 * the zero-downtime switch with its managed variable set or gone), restarting and destroying it.
 */
import { randomBytes } from 'node:crypto';
import { getApp } from '../apps/repo.js';
import type { AddonKind, DeployTrigger } from '../contract.js';
import { restartToApply, type RestartOutcome } from '../deploy/restart-to-apply.js';
import { HiyError, isHiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Services } from '../services.js';
import { imageIdOf, pullAddonImage, serverVersion, startAddonContainer, waitReady } from './containers.js';
import type { KindContract } from './kind.js';
import { kindOf } from './kinds.js';
import { managedVars } from './managed.js';
import { validateAddonName, validateAttachName, varOf } from './names.js';
import { attachmentsOf, deleteAddon, deleteAttachment, findAddon, getAddon, insertAddon, insertAttachment, updateAddon, type Addon, type Attachment } from './repo.js';

export type AddonServices = Pick<Services, 'config' | 'log' | 'db' | 'secrets' | 'runtime' | 'deployer'>;

export const MAX_ADDON_MEMORY_MB = 8192;
export const READY_TIMEOUT_SEC = 180;
const PULL_TIMEOUT_SEC = 1800;

export interface CreateAddonInput {
  kind: unknown;
  name?: unknown;
  app?: unknown;
  as?: unknown;
  memory_mb?: unknown;
}

export interface AttachOutcome {
  addon: string;
  app: string;
  as: string;
  var: string;
  restart: RestartOutcome;
}

/** 24 bytes from the CSPRNG, URL-safe: it goes into URLs and config files as it is. */
export const newPassword = (): string => randomBytes(24).toString('base64url');

function memoryOf(k: KindContract, raw: unknown): number {
  if (raw === undefined || raw === null) return k.defaultMemoryMb;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < k.minMemoryMb || raw > MAX_ADDON_MEMORY_MB) {
    throw new HiyError('invalid_input', `memory_mb of a ${k.kind} add-on is a whole number from ${k.minMemoryMb} to ${MAX_ADDON_MEMORY_MB} (default ${k.defaultMemoryMb})`);
  }
  return raw;
}

async function defaultName(s: AddonServices, kind: AddonKind, app: string | undefined): Promise<string> {
  const candidate = app ? `${app}-${kind}` : undefined;
  if (candidate && candidate.length <= 40 && !candidate.startsWith('hiy') && !(await findAddon(s.db, candidate))) return candidate;
  return `${kind}-${randomBytes(3).toString('hex')}`;
}

/** Makes sure the image is on the engine: pulled from its registry when it is not. */
export async function ensureImage(runtime: Runtime, image: string): Promise<string> {
  const id = await imageIdOf(runtime, image);
  if (id) return id;
  await pullAddonImage(runtime, image, PULL_TIMEOUT_SEC);
  const pulled = await imageIdOf(runtime, image);
  if (!pulled) throw new HiyError('unavailable', `image ${image} is not on this engine after pulling it`);
  return pulled;
}

/** Checks an attachment before anything changes: the app exists, its variable is free. */
async function planAttachment(s: AddonServices, addon: string, app: string, as: unknown, k: KindContract): Promise<{ app: string; as: string }> {
  const appName = (await getApp(s.db, app)).name;
  const asName = validateAttachName(as ?? k.defaultAs);
  const key = varOf(asName);
  const existing = (await attachmentsOf(s.db, { app: appName })).find((a) => a.addon === addon);
  if (existing) throw new HiyError('conflict', `${addon} is already attached to ${appName} as ${varOf(existing.as_name)}`);
  const managed = await managedVars(s.db, appName);
  if (managed[key]) throw new HiyError('conflict', `${appName} already has ${key} from add-on ${managed[key]}; choose another name with --as`);
  const own = await s.db.selectFrom('env_vars').select('key').where('app', '=', appName).where('key', '=', key).executeTakeFirst();
  if (own) throw new HiyError('conflict', `${appName} has its own env var ${key}; unset it first (hiy env:unset ${appName} ${key}) or choose another name with --as`);
  return { app: appName, as: asName };
}

/**
 * Creates the add-on and starts its server (its first start initialises the data: seconds), then
 * attaches it to `app` when one is given. A failure removes what was made.
 */
export async function createAddon(s: AddonServices, input: CreateAddonInput, trigger: DeployTrigger = 'manual'): Promise<{ addon: Addon; attached?: AttachOutcome }> {
  const k = kindOf(input.kind);
  const memory = memoryOf(k, input.memory_mb);
  const app = input.app === undefined || input.app === null ? undefined : (await getApp(s.db, String(input.app))).name;
  const name = input.name === undefined || input.name === null || input.name === '' ? await defaultName(s, k.kind, app) : validateAddonName(input.name);
  if (await findAddon(s.db, name)) throw new HiyError('conflict', `add-on "${name}" already exists`);
  if (app) await planAttachment(s, name, app, input.as, k);
  else if (input.as !== undefined) throw new HiyError('invalid_input', 'as names the variable of an attachment: give the app too');
  const runtime = await s.runtime();
  if (await runtime.addonVolumeExists(name)) {
    throw new HiyError('conflict', `a volume for add-on "${name}" already exists on the engine (the data of an earlier add-on of that name?); choose another name, or remove it with docker volume rm hiy-addon.${name}`);
  }
  const image = s.config.addonImages[k.kind];
  await ensureImage(runtime, image);
  const row = await insertAddon(s.db, { name, kind: k.kind, image, memory_mb: memory, password_enc: await s.secrets.encrypt(newPassword()) });
  try {
    await startAddonContainer(runtime, s.secrets, row);
    await waitReady(runtime, name, k, READY_TIMEOUT_SEC);
    const version = await serverVersion(runtime, name, k);
    if (version) await updateAddon(s.db, name, { version });
    s.log.info({ addon: name, kind: k.kind, image, version }, 'add-on created');
  } catch (err) {
    await runtime.removeAddon(name, { data: true }).catch((e: unknown) => s.log.warn({ err: e, addon: name }, 'could not remove a half-made add-on'));
    await deleteAddon(s.db, name);
    throw err;
  }
  const created = await getAddon(s.db, name);
  if (!app) return { addon: created };
  return { addon: created, attached: await attachAddon(s, name, app, input.as, trigger) };
}

/**
 * Joins the add-on to the app's network under its name, records the attachment (the app's
 * variable), then restarts the app so its new containers get the variable (zero downtime).
 */
export async function attachAddon(s: AddonServices, addon: string, app: string, as?: unknown, trigger: DeployTrigger = 'manual'): Promise<AttachOutcome> {
  const row = await getAddon(s.db, validateAddonName(addon));
  const k = kindOf(row.kind);
  const plan = await planAttachment(s, row.name, app, as, k);
  const runtime = await s.runtime();
  await runtime.attachAddon(row.name, plan.app);
  try {
    await insertAttachment(s.db, { addon: row.name, app: plan.app, as_name: plan.as });
  } catch (err) {
    await runtime.detachAddon(row.name, plan.app).catch(() => undefined);
    if (/UNIQUE|PRIMARY KEY/i.test((err as Error).message)) throw new HiyError('conflict', `${row.name} or ${varOf(plan.as)} was attached to ${plan.app} meanwhile`, { cause: err });
    throw err;
  }
  s.log.info({ addon: row.name, app: plan.app, as: plan.as }, 'add-on attached');
  return { addon: row.name, app: plan.app, as: plan.as, var: varOf(plan.as), restart: await restartToApply(s, plan.app, 'add-on attachment', undefined, trigger) };
}

/**
 * Forgets the attachment and restarts the app without the variable. The add-on leaves the app's
 * network once the old release is gone (the deploy's last step, or at once without a release).
 */
export async function detachAddon(s: AddonServices, addon: string, app: string, trigger: DeployTrigger = 'manual'): Promise<AttachOutcome> {
  const row = await getAddon(s.db, validateAddonName(addon));
  const appName = (await getApp(s.db, app)).name;
  const att = (await attachmentsOf(s.db, { addon: row.name, app: appName }))[0];
  if (!att) throw new HiyError('not_found', `${row.name} is not attached to ${appName}`);
  await deleteAttachment(s.db, row.name, appName);
  s.log.info({ addon: row.name, app: appName }, 'add-on detached');
  const restart = await restartToApply(s, appName, 'add-on attachment', undefined, trigger);
  if (!restart.restarted) {
    await s.runtime().then((r) => r.detachAddon(row.name, appName)).catch((err: unknown) => s.log.warn({ err, addon: row.name, app: appName }, 'could not take the add-on off the app\'s network (start-up reconciliation will)'));
  }
  return { addon: row.name, app: appName, as: att.as_name, var: varOf(att.as_name), restart };
}

/** Stops and starts the add-on's server (its container and data stay), and waits until it answers. */
export async function restartAddon(s: AddonServices, addon: string): Promise<void> {
  const row = await getAddon(s.db, validateAddonName(addon));
  const k = kindOf(row.kind);
  const runtime = await s.runtime();
  const c = await runtime.addonContainer(row.name);
  if (!c) {
    await startAddonContainer(runtime, s.secrets, row);
    for (const a of await attachmentsOf(s.db, { addon: row.name })) await runtime.attachAddon(row.name, a.app);
  } else {
    await runtime.stop(c.id, k.stopTimeoutSec);
    await runtime.start(c.id);
  }
  await waitReady(runtime, row.name, k, READY_TIMEOUT_SEC);
  s.log.info({ addon: row.name }, 'add-on restarted');
}

/**
 * Removes the add-on with its data. Refused while apps use it, unless `detach`: then each app is
 * restarted without its variable first.
 */
export async function destroyAddon(s: AddonServices, addon: string, opts: { detach?: boolean; trigger?: DeployTrigger } = {}): Promise<{ detached: Attachment[] }> {
  const row = await getAddon(s.db, validateAddonName(addon));
  const attached = await attachmentsOf(s.db, { addon: row.name });
  if (attached.length > 0 && !opts.detach) {
    throw new HiyError('conflict', `${row.name} is attached to ${attached.map((a) => `${a.app} (${varOf(a.as_name)})`).join(', ')}; detach it first, or destroy with --detach`);
  }
  for (const a of attached) await detachAddon(s, row.name, a.app, opts.trigger);
  try {
    await (await s.runtime()).removeAddon(row.name, { data: true });
  } catch (err) {
    // An engine that is down must not make an add-on undeletable; one that refuses keeps the row.
    if (!isHiyError(err) || err.code !== 'unavailable') throw err;
    s.log.warn({ err, addon: row.name }, 'docker is not available: the add-on\'s container and volume were not removed');
  }
  await deleteAddon(s.db, row.name);
  s.log.info({ addon: row.name }, 'add-on destroyed');
  return { detached: attached };
}
