/**
 * The Debian 12 root filesystem the system tests boot, made once per machine with Debian's own
 * debootstrap and cached under /var/cache/hiy-test (outside the repository). The folder name is
 * a hash of everything that shapes it, so a changed package list builds a new one. Guests never
 * write to it: each boots an overlay of its own on top.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../harness/git.js';

export const CACHE_DIR = process.env.HIY_TEST_CACHE ?? '/var/cache/hiy-test';
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
// What the recipe boots with; everything else comes from infra/install.sh inside.
const INCLUDE = ['systemd', 'systemd-sysv', 'dbus', 'iproute2', 'ca-certificates'];
const DONE = '.hiy-root-complete';

export interface DebianRoot {
  dir: string;
  /** How long debootstrap took in this run; 0 when the cached root was used. */
  builtMs: number;
}

function rootKey(): string {
  return createHash('sha256').update(JSON.stringify({ SUITE, MIRROR, INCLUDE, arch: process.arch, v: 1 })).digest('hex').slice(0, 12);
}

/** The cached root, made with debootstrap first when missing (about 4 minutes). */
export async function ensureDebianRoot(): Promise<DebianRoot> {
  const dir = join(CACHE_DIR, `debian-${SUITE}-${rootKey()}`);
  if (existsSync(join(dir, DONE))) return { dir, builtMs: 0 };
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  // Built beside the final name and renamed into place: an interrupted or concurrent build never
  // leaves a half-made root under the name others use.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  const r = await run('debootstrap', [`--include=${INCLUDE.join(',')}`, SUITE, tmp, MIRROR], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`debootstrap failed (${r.code}): ${(r.stderr || r.stdout).slice(-2000)}`);
  }
  writeFileSync(join(tmp, DONE), `${new Date().toISOString()}\n`);
  try {
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, DONE))) throw err;
  }
  return { dir, builtMs: Date.now() - started };
}
