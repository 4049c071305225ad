/**
 * `hiy backup`: one encrypted file holding everything needed to bring the box back:
 *   manifest.json, hiy.db (online snapshot, integrity-checked), repos/<app>.bundle,
 *   volumes/hiy-<app>-data/…, addons/<addon>.<pgdump|rdb> (each add-on's own online dump),
 *   tls/ (the ACME account key and hiy's certificate, modes kept) and,
 *   only when asked, secrets/age-identity.txt,
 * as tar → gzip → age (to HIY_BACKUP_RECIPIENT), written to a temp file in HIY_BACKUP_DIR and
 * renamed into place only once complete, so a failed run never replaces or deletes a good backup.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import type { Config } from '../config.js';
import { IDENTITY_FILE } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import { createBareRepos } from '../git/bare-repos.js';
import { encryptStream } from './age-stream.js';
import { addBuffer, addFile, addTree } from './archive.js';
import { TLS_DIR } from '../tls/cert-store.js';
import { acquireLock } from './backup-lock.js';
import { loadOrCreateSigningKey, signatureFileOf, signBackup } from './backup-signing.js';
import { requireRecipients, type BackupConfig } from './backup-config.js';
import { listBackups, pruneBackups, stampOf } from './backup-files.js';
import { appsIn, snapshotDatabase } from './db-snapshot.js';
import { copyOffsite } from './offsite.js';
import { engine, exportVolume, findAppVolumes, type AppVolume } from './volumes.js';
import { dumpAddons, type BackedUpAddon } from './addon-backup.js';

export const MANIFEST_FORMAT = 'hiy-backup';
/** 2: add-on dumps (an older hiy would restore such a backup without them, so it refuses it). */
export const MANIFEST_VERSION = 2;

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  created_at: string;
  host: string;
  instance_id: string | null;
  apps: string[];
  /** Apps whose bare repo had refs (the others are restored as empty repos). */
  repos: string[];
  /** Volume names packed; null when the engine could not be asked. */
  volumes: string[] | null;
  volumes_note?: string;
  identity_included: boolean;
  db_sha256: string;
  /** Whether tls/ (HIY_TLS=dns: account key, wildcard certificate) is in the archive; absent in older backups. */
  tls?: boolean;
  /** Add-ons whose dump is in the archive; absent in older backups. */
  addons?: BackedUpAddon[];
}

export interface BackupResult {
  file: string;
  bytes: number;
  /** The public key of the signature next to the file (`ed25519:…`). */
  signer: string;
  manifest: Manifest;
  removed: string[];
  notes: string[];
}

export async function runBackup(cfg: Config, bc: BackupConfig, log: (line: string) => void, opts: { includeIdentity?: boolean; now?: Date } = {}): Promise<BackupResult> {
  requireRecipients(bc);
  const dbFile = join(cfg.dataDir, 'hiy.db');
  if (!existsSync(dbFile)) throw new HiyError('not_found', `no hiy database at ${dbFile}: is HIY_DATA_DIR right?`);
  const includeIdentity = opts.includeIdentity ?? bc.includeIdentity;
  await mkdir(bc.dir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(bc.dir);
  const notes: string[] = [];
  await mkdir(join(cfg.dataDir, 'tmp'), { recursive: true, mode: 0o700 });
  // Staged on the data disk, not /tmp (a RAM disk on many Pis).
  const staging = await mkdtemp(join(cfg.dataDir, 'tmp', 'backup-'));
  const now = opts.now ?? new Date();
  const final = uniqueName(bc.dir, stampOf(now));
  const partial = join(bc.dir, `.${final.name}.${randomBytes(4).toString('hex')}.partial`);
  try {
    log(`snapshot of ${dbFile} (SQLite backup API)`);
    const snap = join(staging, 'hiy.db');
    await snapshotDatabase(dbFile, snap);
    const apps = appsIn(snap);
    log(`integrity_check ok; ${apps.length} app(s): ${apps.join(', ') || '-'}`);

    const repos: string[] = [];
    await mkdir(join(staging, 'repos'));
    const bare = createBareRepos(join(cfg.dataDir, 'repos'));
    for (const app of apps) {
      if (await bare.bundle(app, join(staging, 'repos', `${app}.bundle`))) repos.push(app);
    }
    log(`git bundles: ${repos.length}`);

    let volumes: AppVolume[] | null = [];
    let volumesNote: string | undefined;
    if (apps.length > 0) {
      const eng = await engine(cfg.dockerHost);
      if ('runtime' in eng) volumes = await findAppVolumes(eng.runtime, apps);
      else {
        volumes = null;
        volumesNote = `app volumes were not backed up: ${eng.reason}`;
        notes.push(volumesNote);
      }
    }

    const dumped = await dumpAddons(cfg.dockerHost, staging, snap, log);
    notes.push(...dumped.notes);

    const identityPath = join(cfg.dataDir, 'secrets', IDENTITY_FILE);
    if (includeIdentity && !existsSync(identityPath)) throw new HiyError('not_found', `the identity to include is missing: ${identityPath}`);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: dumped.addons.length > 0 ? MANIFEST_VERSION : 1,
      created_at: now.toISOString(),
      host: hostname(),
      instance_id: await readFile(join(cfg.dataDir, 'instance-id'), 'utf8').then((s) => s.trim(), () => null),
      apps,
      repos,
      volumes: volumes ? volumes.map((v) => v.name) : null,
      ...(volumesNote ? { volumes_note: volumesNote } : {}),
      identity_included: includeIdentity,
      db_sha256: await sha256File(snap),
      tls: existsSync(join(cfg.dataDir, TLS_DIR)),
      ...(dumped.addons.length > 0 ? { addons: dumped.addons } : {}),
    };

    const pack = tarPack();
    const fill = (async () => {
      await addBuffer(pack, 'manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
      await addFile(pack, 'hiy.db', snap);
      for (const app of repos) await addFile(pack, `repos/${app}.bundle`, join(staging, 'repos', `${app}.bundle`));
      for (const a of dumped.addons) await addFile(pack, a.file, join(staging, a.file));
      if (includeIdentity) await addFile(pack, `secrets/${IDENTITY_FILE}`, identityPath);
      // Restored, it spares a new order (and Let's Encrypt's rate limits) after a rebuild.
      if (manifest.tls) await addTree(pack, TLS_DIR, join(cfg.dataDir, TLS_DIR), (rel) => rel.endsWith('.tmp'));
      for (const v of volumes ?? []) {
        const r = await exportVolume(pack, v);
        log(`volume ${v.name}: ${r.bytes} bytes`);
        for (const why of r.skipped) notes.push(`volume ${v.name}: ${why}`);
      }
      pack.finalize();
    })().catch((err: unknown) => { pack.destroy(err instanceof Error ? err : new Error(String(err))); throw err; });
    const encrypted = await encryptStream(Readable.from(pack, { objectMode: false }).pipe(createGzip({ level: 6 })), bc.recipients);
    await Promise.all([pipeline(encrypted, createWriteStream(partial, { flags: 'wx', mode: 0o600 })), fill]);
    await fsyncPath(partial);
    // The signature goes in place first: a backup file never sits there without it.
    const signer = await signBackup(partial, signatureFileOf(final.path), await loadOrCreateSigningKey(cfg.dataDir));
    await rename(partial, final.path);
    await fsyncPath(bc.dir);
    const bytes = (await stat(final.path)).size;
    log(`wrote ${final.path} (${bytes} bytes, encrypted to ${bc.recipients.length} recipient(s))`);
    log(`signed it with ${signer} (${basename(signatureFileOf(final.path))}): keep this key with your backup key, hiy restore --signer checks it`);

    // Only now, with a good new backup in place, may old ones go.
    const removed = await pruneBackups(bc.dir, bc.keepDays, now, final.name);
    for (const r of removed) log(`removed ${r} (older than ${bc.keepDays} days)`);
    if (bc.rclone) notes.push(...await copyOffsite(final.path, bc.rclone, bc.keepDays, log));
    return { file: final.path, bytes, manifest, removed, notes, signer };
  } finally {
    await rm(partial, { force: true });
    await rm(staging, { recursive: true, force: true });
    await release();
  }
}

function uniqueName(dir: string, stamp: string): { name: string; path: string } {
  const existing = new Set(listBackups(dir).map((b) => b.name));
  for (let i = 0; ; i++) {
    const name = `hiy-backup-${stamp}${i === 0 ? '' : `-${i}`}.tar.gz.age`;
    if (!existing.has(name) && !existsSync(join(dir, name))) return { name, path: join(dir, name) };
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
