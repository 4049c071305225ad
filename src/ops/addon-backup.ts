/**
 * Add-ons in backups: each one's data as its server's own consistent online dump (pg_dump -Fc,
 * Redis's RDB), taken while apps write, never its files. A restore makes each add-on again (its
 * container, its password from the restored database, its attachments' networks) and loads the
 * dump into it; an add-on whose volume still exists is left as it is, and its dump kept aside.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import SQLite from 'better-sqlite3';
import { startAddonContainer, waitReady } from '../addons/containers.js';
import { kindOf } from '../addons/kinds.js';
import { validateAddonName } from '../addons/names.js';
import type { Addon } from '../addons/repo.js';
import { ensureImage, READY_TIMEOUT_SEC } from '../addons/service.js';
import { dumpAddon, restoreAddon } from '../addons/transfer.js';
import type { AddonKind } from '../contract.js';
import { secretBoxFromIdentity } from '../env/secret-box.js';
import type { Runtime } from '../runtime/runtime.js';
import { stampOf } from './backup-files.js';
import { engine } from './volumes.js';

export interface BackedUpAddon {
  name: string;
  kind: AddonKind;
  /** Its dump in the archive: addons/<name>.<pgdump|rdb>. */
  file: string;
}

/** An entry of a manifest as hiy writes it: a valid add-on name, its kind, its dump's own file name (each becomes part of a path). */
export function isBackedUpAddon(a: unknown): a is BackedUpAddon {
  if (typeof a !== 'object' || a === null) return false;
  const { name, kind, file } = a as Record<string, unknown>;
  if (typeof name !== 'string' || (kind !== 'postgres' && kind !== 'redis')) return false;
  try {
    validateAddonName(name);
  } catch {
    return false;
  }
  return file === `addons/${name}.${kindOf(kind).dumpExt}`;
}

/** The add-ons in a database file (older databases have none). */
export function addonsIn(dbFile: string): Addon[] {
  const db = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'addons'").get()) return [];
    return db.prepare('SELECT * FROM addons ORDER BY name').all() as Addon[];
  } finally {
    db.close();
  }
}

function attachmentsIn(dbFile: string): { addon: string; app: string }[] {
  const db = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT addon, app FROM addon_attachments ORDER BY addon, app').all() as { addon: string; app: string }[];
  } finally {
    db.close();
  }
}

/** Dumps every add-on into `<staging>/addons/`; what cannot be dumped is a note, and not in the backup. */
export async function dumpAddons(dockerHost: string, staging: string, dbFile: string, log: (line: string) => void): Promise<{ addons: BackedUpAddon[]; notes: string[] }> {
  const rows = addonsIn(dbFile);
  if (rows.length === 0) return { addons: [], notes: [] };
  const eng = await engine(dockerHost);
  if (!('runtime' in eng)) return { addons: [], notes: [`add-ons were not backed up: ${eng.reason}`] };
  await mkdir(join(staging, 'addons'), { mode: 0o700 });
  const addons: BackedUpAddon[] = [];
  const notes: string[] = [];
  for (const row of rows) {
    const file = `addons/${row.name}.${kindOf(row.kind).dumpExt}`;
    const out = createWriteStream(join(staging, file), { mode: 0o600 });
    try {
      const started = Date.now();
      await dumpAddon(eng.runtime, row, out);
      out.end();
      await finished(out);
      log(`add-on ${row.name}: ${kindOf(row.kind).dumpCmd(row.name)[0]} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${out.bytesWritten} bytes`);
      addons.push({ name: row.name, kind: row.kind, file });
    } catch (err) {
      out.destroy();
      notes.push(`add-on ${row.name} was not backed up: ${(err as Error).message}`);
    }
  }
  return { addons, notes };
}

/** The instance id the restored server will run as: its add-on containers must carry it. */
async function instanceOf(dataDir: string): Promise<string> {
  const file = join(dataDir, 'instance-id');
  if (!existsSync(file)) await writeFile(file, `${randomBytes(8).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return (await readFile(file, 'utf8')).trim();
}

/**
 * Brings the backed-up add-ons back into the restored data dir's engine: container, networks of
 * the apps they were attached to, data from their dumps. Returns notes for what it could not do
 * (the dump is then kept in `<data>/restored-addons-<time>/` for `hiy addons:restore`).
 */
export async function restoreAddons(dockerHost: string, dataDir: string, staging: string, backedUp: BackedUpAddon[], identity: string | undefined, log: (line: string) => void): Promise<string[]> {
  if (backedUp.length === 0) return [];
  const dbFile = join(dataDir, 'hiy.db');
  const rows = addonsIn(dbFile);
  const attachments = attachmentsIn(dbFile);
  const keepDir = join(dataDir, `restored-addons-${stampOf(new Date())}`);
  const notes: string[] = [];
  const keep = async (b: BackedUpAddon, why: string) => {
    await mkdir(keepDir, { recursive: true, mode: 0o700 });
    const to = join(keepDir, b.file.replace(/^addons\//, ''));
    await rename(join(staging, b.file), to);
    notes.push(`add-on ${b.name}: ${why}; its dump is in ${to} (hiy addons:restore ${b.name} < ${to})`);
  };
  const eng = await engine(dockerHost, await instanceOf(dataDir));
  for (const b of backedUp) {
    const row = rows.find((r) => r.name === b.name);
    // Only what hiy writes: a name it made, its own file name; anything else is not read at all.
    if (!row || b.file !== `addons/${row.name}.${kindOf(row.kind).dumpExt}` || !existsSync(join(staging, b.file))) {
      notes.push(`add-on entry ${JSON.stringify(String(b.name).slice(0, 40))} of the backup does not match its database and was skipped`);
      continue;
    }
    if (!('runtime' in eng)) { await keep(b, `not restored (${eng.reason})`); continue; }
    if (!identity) { await keep(b, 'not restored (no key to decrypt its password)'); continue; }
    try {
      const why = await restoreOne(eng.runtime, row, identity, attachments.filter((a) => a.addon === b.name).map((a) => a.app), join(staging, b.file), log);
      if (why) await keep(b, why);
    } catch (err) {
      await keep(b, `not restored: ${(err as Error).message}`);
    }
  }
  return notes;
}

async function restoreOne(runtime: Runtime, row: Addon, identity: string, apps: string[], dump: string, log: (line: string) => void): Promise<string | undefined> {
  if (await runtime.addonVolumeExists(row.name)) return `its volume already exists on this engine and was left as it is`;
  const k = kindOf(row.kind);
  await ensureImage(runtime, row.image);
  await startAddonContainer(runtime, await secretBoxFromIdentity(identity), row);
  for (const app of apps) await runtime.attachAddon(row.name, app);
  await waitReady(runtime, row.name, k, READY_TIMEOUT_SEC);
  const res = await restoreAddon(runtime, row, createReadStream(dump));
  log(`add-on ${row.name}: ${res.detail}${apps.length ? `; attached to ${apps.join(', ')}` : ''}`);
  return undefined;
}
