import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const NAME_RE = /^hiy-backup-(\d{8}T\d{6}Z)(?:-\d+)?\.tar\.gz\.age$/;
const PARTIAL_RE = /^\.hiy-backup-.*\.partial$|^hiy-backup-.*\.sig\.partial$/;
/** A backup's signature (backup-signing.ts) lives and dies with it. */
const SIG_RE = /^(hiy-backup-.*\.tar\.gz\.age)\.sig$/;

/** `20261129T103500Z`: sorts as text in time order, and is safe in any file system. */
export function stampOf(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function dateOf(stamp: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return new Date(NaN);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export interface BackupFile {
  name: string;
  path: string;
  taken: Date;
}

/** Finished backups in `dir`, oldest first (the time comes from the name, not the file's mtime). */
export function listBackups(dir: string): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: BackupFile[] = [];
  for (const name of names) {
    const m = NAME_RE.exec(name);
    if (m?.[1]) out.push({ name, path: join(dir, name), taken: dateOf(m[1]) });
  }
  return out.sort((a, b) => a.taken.getTime() - b.taken.getTime() || a.name.localeCompare(b.name));
}

/**
 * Deletes backups older than `keepDays`, never `keep` (the one just written) and never the newest,
 * plus partial files of earlier runs that died (the lock guarantees no other run is writing).
 */
export async function pruneBackups(dir: string, keepDays: number, now: Date, keep: string): Promise<string[]> {
  const all = listBackups(dir);
  const newest = all[all.length - 1]?.name;
  const cutoff = now.getTime() - keepDays * 86_400_000;
  const removed: string[] = [];
  for (const b of all) {
    if (b.name === keep || b.name === newest || !(b.taken.getTime() < cutoff)) continue;
    await rm(b.path, { force: true });
    await rm(`${b.path}.sig`, { force: true });
    removed.push(b.name);
  }
  const names = readdirSync(dir);
  for (const name of names) {
    const sigOf = SIG_RE.exec(name)?.[1];
    if (PARTIAL_RE.test(name) || (sigOf !== undefined && !names.includes(sigOf))) await rm(join(dir, name), { force: true });
  }
  return removed;
}
