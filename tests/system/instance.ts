/**
 * A guest's instance directory on the host (`/var/tmp/hiy-system-<name>`: overlay layers, the
 * mounted root, Docker's data) and the record in it that lets teardown find everything again by
 * pid and by name, also after the test process that made it was killed (a timeout, a CI abort).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../harness/git.js';
import { removeCgroups } from './cgroups.js';

const RECORD = 'instance.json';
const INSTANCE_DIR = /^hiy-system-(hiys[0-9a-f]{6})$/;

export interface InstanceRecord {
  name: string;
  /** The test process that owns the guest. */
  owner: number;
  /** systemd-nspawn's pid while the guest runs. */
  nspawn?: number;
  cgroups: string[];
}

export function writeRecord(dir: string, rec: InstanceRecord): void {
  writeFileSync(join(dir, RECORD), `${JSON.stringify(rec)}\n`);
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The guest's systemd-nspawn, only if that pid still is it (pids get reused). */
export function nspawnAlive(pid: number | undefined, name: string): boolean {
  if (!pid) return false;
  const args = cmdline(pid);
  return args[0]?.endsWith('systemd-nspawn') === true && args.includes(name);
}

/** Removes the host's end of the veth, the overlay mount and the instance directory. */
export async function removeInstance(dir: string, name: string): Promise<void> {
  if ((await run('ip', ['link', 'show', `ve-${name}`])).code === 0) await run('ip', ['link', 'delete', `ve-${name}`]);
  const root = join(dir, 'root');
  for (let i = 0; i < 20 && existsSync(join(root, 'etc')); i++) {
    if ((await run('umount', [root])).code === 0) break;
    await sleep(250);
  }
  if (existsSync(join(root, 'etc'))) throw new Error(`${name}: could not unmount ${root}; left ${dir} in place`);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Tears down the guests under `workDir` whose owning test process is gone: its nspawn (by pid,
 * checked against the guest's name), its cgroups, veth, mount and directory. Guests of test
 * runs still alive (another checkout's) are left alone. Returns the names it removed.
 */
export async function sweepOrphans(workDir = '/var/tmp'): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of readdirSync(workDir)) {
    const name = INSTANCE_DIR.exec(entry)?.[1];
    if (!name) continue;
    const dir = join(workDir, entry);
    let rec: InstanceRecord;
    try {
      rec = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as InstanceRecord;
    } catch {
      continue; // being made right now, or not ours to judge
    }
    if (rec.name !== name || cmdline(rec.owner).some((a) => a.endsWith('node'))) continue;
    if (nspawnAlive(rec.nspawn, name)) {
      process.kill(rec.nspawn!, 'SIGKILL');
      for (let i = 0; i < 100 && nspawnAlive(rec.nspawn, name); i++) await sleep(100);
    }
    await removeCgroups(rec.cgroups);
    await removeInstance(dir, name);
    removed.push(name);
  }
  return removed;
}
