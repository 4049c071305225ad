/**
 * An add-on's container: made from its row (the password decrypted only for the engine), started,
 * and waited for until its server accepts connections. Shared by the service, start-up
 * reconciliation and `hiy restore` (which runs without a server).
 */
import type { AddonContainerInfo, AddonContainerSpec, AddonRuntime } from '../runtime/addons.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { KindContract } from './kind.js';
import { kindOf } from './kinds.js';
import type { Addon } from './repo.js';

/** Add-ons get at most one core: a query storm must not starve the apps. */
const ADDON_CPUS = 1;
const READY_POLL_MS = 300;

export function addonSpec(row: Pick<Addon, 'name' | 'kind' | 'image' | 'memory_mb'>, password: string, image = row.image): AddonContainerSpec {
  const k = kindOf(row.kind);
  return {
    addon: row.name,
    image,
    env: k.env(row.name, password),
    cmd: k.cmd(row.memory_mb),
    user: k.user,
    memoryMb: row.memory_mb,
    cpus: ADDON_CPUS,
    pidsLimit: k.pidsLimit,
    dataPath: k.dataPath,
    tmpfs: k.tmpfs,
    stopTimeoutSec: k.stopTimeoutSec,
  };
}

/** Creates and starts the add-on's container (its volume keeps whatever data it already holds). */
export async function startAddonContainer(runtime: Runtime, box: SecretBox, row: Addon, image = row.image): Promise<AddonContainerInfo> {
  return runtime.runAddon(addonSpec(row, await box.decrypt(row.password_enc), image));
}

/**
 * Waits until the server accepts connections (a first start runs initdb: seconds). A container
 * that stopped, or that the engine keeps restarting, fails at once with its last output.
 */
export async function waitReady(runtime: Runtime, addon: string, k: KindContract, timeoutSec: number): Promise<void> {
  const deadline = Date.now() + timeoutSec * 1000;
  let restarts: number | undefined;
  for (;;) {
    const c = await runtime.addonContainer(addon);
    if (!c) throw new HiyError('unavailable', `add-on ${addon} has no container`);
    restarts ??= c.restartCount;
    if (!c.running || c.restartCount > restarts) {
      const tail = (await runtime.logs(c.id, { tail: 15 }).catch(() => '')).trim();
      throw new HiyError('unavailable', `add-on ${addon}'s ${k.label} server stopped (${c.state})${tail ? `; its last output:\n${tail}` : ''}`);
    }
    const probe = await runtime.execAddon(addon, { cmd: k.readyCmd, timeoutSec: 10 }).catch(() => undefined);
    if (probe && k.isReady(probe)) return;
    if (Date.now() > deadline) throw new HiyError('unavailable', `add-on ${addon}'s ${k.label} server did not accept connections within ${timeoutSec} s`);
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}

/** The server's version, as it reports it (undefined when it cannot be asked). */
export async function serverVersion(runtime: AddonRuntime, addon: string, k: KindContract): Promise<string | undefined> {
  const out = await runtime.execAddon(addon, { cmd: k.versionCmd, timeoutSec: 20 }).catch(() => undefined);
  return out && out.exitCode === 0 ? k.parseVersion(out.stdout) : undefined;
}

/** The id of the image a reference names on this engine, or undefined when it is not there. */
export async function imageIdOf(runtime: Runtime, ref: string): Promise<string | undefined> {
  return (await runtime.inspectImage(ref))?.id;
}

/** Pulls an add-on's image from its registry (the engine's own pull, as image deploys use), within `timeoutSec`. */
export async function pullAddonImage(runtime: Runtime, ref: string, timeoutSec: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutSec * 1000);
  try {
    await runtime.pullImage(ref, { onLine: () => undefined, signal });
  } catch (err) {
    if (signal.aborted) throw new HiyError('unavailable', `pulling ${ref} took longer than ${timeoutSec} s`, { cause: err });
    throw err;
  }
}
