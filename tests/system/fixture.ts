/**
 * A guest for one suite: booted fresh from the cached root with hiy cloned as the operator, and
 * the host's firewall as it was before, to compare after teardown.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { ensureDebianRoot } from './debian-root.js';
import { Guest } from './guest.js';
import { hostFirewall, makeOrigin, type Origin } from './host.js';
import { measured } from './measure.js';
import { cloneHiy } from './operator.js';

export interface Booted {
  g: Guest;
  origin: Origin;
  firewallBefore: string;
}

/** Boots a guest (its boot time measured as `<label>: boot to systemd running`) and clones hiy at `ref` (default: the commit under test). */
export async function bootGuest(label: string, ref?: (o: Origin) => string): Promise<Booted> {
  const firewallBefore = await hostFirewall();
  await ensureDocker();
  await ensureBusyboxImage(); // the apps' base image, loaded into the guest's engine later
  const root = await ensureDebianRoot();
  const origin = await makeOrigin();
  let g: Guest | undefined;
  try {
    g = await Guest.create(root.dir, { origin: origin.dir });
    const t0 = Date.now();
    const state = await g.boot();
    measured.set(`${label}: boot to systemd running`, Date.now() - t0);
    assert.equal(state, 'running', `fresh guest: ${state}\n${g.consoleTail()}`);
    await cloneHiy(g, ref?.(origin));
    return { g, origin, firewallBefore };
  } catch (err) {
    await g?.destroy();
    origin.remove();
    throw err;
  }
}

/** Tears the guest down (idempotent) and removes what the suite made on the host. */
export async function tearDown(b: Booted | undefined): Promise<void> {
  await b?.g.destroy();
  b?.origin.remove();
}

/** After teardown: the host's firewall must be exactly as before the guest existed. */
export async function assertHostFirewallUnchanged(b: Booted): Promise<void> {
  await b.g.destroy();
  assert.equal(await hostFirewall(), b.firewallBefore);
}

export interface GuestHandle {
  /** The booted guest (throws when its boot failed). */
  readonly g: Guest;
  readonly booted: Booted;
  /** Runs `fn` at teardown, before the guest goes away. */
  onTearDown(fn: () => void): void;
}

/**
 * Registers before/after hooks in the calling describe: a guest booted for its tests (see
 * bootGuest), torn down after them also when they fail, its total time measured as `<label>: total`.
 */
export function useGuest(label: string, ref?: (o: Origin) => string): GuestHandle {
  let b: Booted | undefined;
  const cleanups: (() => void)[] = [];
  const started = Date.now();
  before(async () => {
    b = await bootGuest(label, ref);
  });
  after(async () => {
    for (const fn of cleanups) fn();
    await tearDown(b);
    measured.set(`${label}: total`, Date.now() - started);
  });
  return {
    get g() { return this.booted.g; },
    get booted() {
      if (!b) throw new Error(`no ${label} guest: its boot failed`);
      return b;
    },
    onTearDown: (fn) => { cleanups.push(fn); },
  };
}
