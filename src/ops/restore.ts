/**
 * `hiy restore <file>`: onto a stopped or fresh hiy. The whole file is decrypted, unpacked and
 * checked in a staging folder first (age authenticates every chunk, so a truncated or altered
 * file fails here); only then is anything in the data dir touched, and what was there is moved
 * aside, never deleted.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { APP_NAME_RE } from '../apps/names.js';
import type { Config } from '../config.js';
import { IDENTITY_FILE, secretBoxFromIdentity } from '../env/secret-box.js';
import { TLS_DIR } from '../tls/cert-store.js';
import { HiyError } from '../errors.js';
import { createBareRepos } from '../git/bare-repos.js';
import { bodyError, decryptStream, identitiesIn } from './age-stream.js';
import { extractTo } from './archive.js';
import { localSigner, parsePublicKey, signatureFileOf, verifyBackup } from './backup-signing.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, sha256File, type Manifest } from './backup.js';
import { stampOf } from './backup-files.js';
import { checkIntegrity, sampleCiphertext } from './db-snapshot.js';
import { runningServer } from './server-running.js';
import { engine, importVolume } from './volumes.js';
import { isBackedUpAddon, restoreAddons } from './addon-backup.js';

export interface KeyFile {
  path: string;
  identities: string[];
}

export interface RestoreOptions {
  /** Files holding AGE-SECRET-KEY lines: the backup's key (--key) and the env identity (--identity). */
  keys: KeyFile[];
  /** Public keys (`ed25519:…`, --signer) a backup's signature may be made with; the data dir's own key counts too. */
  signers: string[];
  /** Restore a file whose signature is missing or does not verify (--unsigned): an old backup, a lost key. */
  unsigned: boolean;
  /** Give the restored server the instance id of the backed-up one (same box: it adopts its containers). */
  keepInstance: boolean;
}

export interface RestoreResult {
  manifest: Manifest;
  movedAside: string | undefined;
  identity: 'from backup' | 'from --identity' | 'kept' | 'none needed';
  notes: string[];
}

export async function runRestore(cfg: Config, file: string, opts: RestoreOptions, log: (line: string) => void): Promise<RestoreResult> {
  const busy = await runningServer(cfg.dataDir, cfg.listen);
  if (busy) throw new HiyError('conflict', `refusing to restore into ${cfg.dataDir}: ${busy}`);
  if (!existsSync(file)) throw new HiyError('not_found', `no such backup file: ${file}`);
  const signed = await checkSignature(cfg, file, opts, log);
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(cfg.dataDir, '.restore-'));
  try {
    const allKeys = opts.keys.flatMap((k) => k.identities);
    const plain = await decryptStream(createReadStream(file), allKeys, file);
    log(`decrypting and unpacking ${file}`);
    const gunzip = createGunzip();
    await Promise.all([pipeline(plain, gunzip), extractTo(gunzip, staging, { owners: process.getuid?.() === 0, maxEntries: 5_000_000 })])
      .catch((err: unknown) => { throw bodyError(err, file); });

    const manifest = await readManifest(staging, file);
    const db = join(staging, 'hiy.db');
    checkIntegrity(db);
    if ((await sha256File(db)) !== manifest.db_sha256) throw new HiyError('invalid_input', `${file}: the database does not match the checksum in its manifest`);
    const scratch = createBareRepos(staging);
    for (const app of manifest.repos) await scratch.verifyBundle(join(staging, 'repos', `${app}.bundle`));
    log(`checked: integrity_check ok, ${manifest.repos.length} git bundle(s) complete; backup of ${manifest.apps.length} app(s) taken ${manifest.created_at} on ${manifest.host}`);

    const chosen = await chooseIdentity(cfg, staging, manifest, opts.keys);
    const movedAside = await commit(cfg, staging, manifest, chosen.identity, opts.keepInstance);
    if (movedAside) log(`the previous state of ${cfg.dataDir} was moved to ${movedAside}`);
    const notes = await restoreVolumes(cfg, staging, manifest, log);
    notes.push(...await restoreAddons(cfg.dockerHost, cfg.dataDir, staging, manifest.addons ?? [], chosen.identity, log));
    return { manifest, movedAside, identity: chosen.how, notes: signed ? notes : [`the backup's signature was not checked (--unsigned)`, ...notes] };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Who wrote the file: its signature (backup-signing.ts) must verify with a --signer key or the
 * data dir's own signing key, before a byte of it is decrypted. Returns false when --unsigned
 * let an unchecked file through.
 */
async function checkSignature(cfg: Config, file: string, opts: RestoreOptions, log: (line: string) => void): Promise<boolean> {
  const keys = opts.signers.map(parsePublicKey);
  const local = localSigner(cfg.dataDir);
  if (local) keys.push(local);
  const v = await verifyBackup(file, signatureFileOf(file), keys);
  if (v.ok) {
    log(`signature ok (${v.signer})`);
    return true;
  }
  if (opts.unsigned) {
    log(`the signature was not checked (--unsigned): ${v.reason}`);
    return false;
  }
  throw new HiyError('forbidden', `${file} was not restored: ${v.reason}. Anyone with the backup's public key (HIY_BACKUP_RECIPIENT) can make a file that decrypts; `
    + 'only the signature says this server wrote it. Pass --signer ed25519:… (printed by every hiy backup), or --unsigned to restore it unchecked (see docs/backup.md). Nothing was changed');
}

/** Every name in the manifest becomes part of a path: each is held to what hiy itself writes there. */
function validateManifest(m: Manifest, file: string): void {
  const bad = (what: string, v: unknown) => new HiyError('invalid_input', `${file}: the manifest holds an unsafe ${what} ${JSON.stringify(v)?.slice(0, 120)}; nothing was restored`);
  if (!Array.isArray(m.apps)) throw bad('app list', m.apps);
  for (const a of m.apps) if (typeof a !== 'string' || !APP_NAME_RE.test(a) || a.endsWith('-') || a.includes('--')) throw bad('app name', a);
  if (!Array.isArray(m.repos)) throw bad('repo list', m.repos);
  for (const r of m.repos) if (typeof r !== 'string' || !m.apps.includes(r)) throw bad('repo name', r);
  if (m.volumes !== null && m.volumes !== undefined) {
    if (!Array.isArray(m.volumes)) throw bad('volume list', m.volumes);
    for (const v of m.volumes) if (typeof v !== 'string' || !m.apps.some((a) => v === `hiy-${a}-data`)) throw bad('volume name', v);
  }
  if (m.addons !== null && m.addons !== undefined) {
    if (!Array.isArray(m.addons)) throw bad('add-on list', m.addons);
    for (const a of m.addons) if (!isBackedUpAddon(a)) throw bad('add-on entry', a);
  }
  if (m.instance_id !== null && m.instance_id !== undefined && (typeof m.instance_id !== 'string' || !/^[0-9a-f]{16}$/.test(m.instance_id))) throw bad('instance id', m.instance_id);
  if (typeof m.db_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.db_sha256)) throw bad('database checksum', m.db_sha256);
  if (typeof m.identity_included !== 'boolean') throw bad('identity flag', m.identity_included);
}

async function readManifest(staging: string, file: string): Promise<Manifest> {
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(join(staging, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    throw new HiyError('invalid_input', `${file} decrypts, but it is not a hiy backup (no manifest.json)`);
  }
  if (m.format !== MANIFEST_FORMAT || typeof m.version !== 'number') throw new HiyError('invalid_input', `${file} is not a hiy backup (manifest format "${String(m.format)}")`);
  if (m.version > MANIFEST_VERSION) throw new HiyError('invalid_input', `${file} was written by a newer hiy (backup format ${m.version}); upgrade hiy first`);
  validateManifest(m, file);
  if (!existsSync(join(staging, 'hiy.db'))) throw new HiyError('invalid_input', `${file} holds no database`);
  return m;
}

/**
 * Which age identity the restored server decrypts env vars with. It must decrypt a real value
 * from the backup: a wrong key is refused here, not discovered later as garbage or 500s.
 */
async function chooseIdentity(cfg: Config, staging: string, m: Manifest, keys: KeyFile[]): Promise<{ identity: string | undefined; how: RestoreResult['identity'] }> {
  const existingPath = join(cfg.dataDir, 'secrets', IDENTITY_FILE);
  const candidates: { identity: string; how: RestoreResult['identity'] }[] = [];
  if (m.identity_included) {
    for (const id of identitiesIn(await readFile(join(staging, 'secrets', IDENTITY_FILE), 'utf8'))) candidates.push({ identity: id, how: 'from backup' });
  }
  for (const k of keys) for (const id of k.identities) candidates.push({ identity: id, how: 'from --identity' });
  if (existsSync(existingPath)) {
    for (const id of identitiesIn(await readFile(existingPath, 'utf8'))) candidates.push({ identity: id, how: 'kept' });
  }
  const sample = sampleCiphertext(join(staging, 'hiy.db'));
  if (!sample) {
    const first = candidates[0];
    return first ? { identity: first.identity, how: first.how } : { identity: undefined, how: 'none needed' };
  }
  for (const c of candidates) {
    try {
      await (await secretBoxFromIdentity(c.identity)).decrypt(sample.value);
      return c;
    } catch {
      // not this one
    }
  }
  const tried = [
    ...(m.identity_included ? ['the identity inside the backup'] : []),
    ...keys.map((k) => k.path),
    ...(existsSync(existingPath) ? [existingPath] : []),
  ];
  throw new HiyError('forbidden', `the backup holds encrypted values (${sample.what}) and ${tried.length === 0 ? 'no age identity was given to decrypt them' : `none of the identities tried decrypts them (${tried.join(', ')})`}. `
    + `Env vars are encrypted with the server's own key, ${IDENTITY_FILE} in the secrets/ folder of the data dir the backup came from `
    + `(by default ${join('/var/lib/hiy', 'secrets', IDENTITY_FILE)}); the backup does not hold it unless HIY_BACKUP_INCLUDE_IDENTITY was set. `
    + 'Pass your copy with --identity FILE (see docs/backup.md). Nothing was restored.');
}

/** Moves the current state aside, then puts the checked backup in its place. */
async function commit(cfg: Config, staging: string, m: Manifest, identity: string | undefined, keepInstance: boolean): Promise<string | undefined> {
  const d = cfg.dataDir;
  const identityPath = join(d, 'secrets', IDENTITY_FILE);
  const currentIdentity = existsSync(identityPath) ? await readFile(identityPath, 'utf8') : undefined;
  const replaceIdentity = identity !== undefined && !(currentIdentity?.includes(identity) ?? false);
  const tls = m.tls === true && existsSync(join(staging, TLS_DIR));
  const moving = ['hiy.db', 'hiy.db-wal', 'hiy.db-shm', 'repos', ...(keepInstance ? ['instance-id'] : []), ...(tls ? [TLS_DIR] : [])].filter((n) => existsSync(join(d, n)));
  if (replaceIdentity && currentIdentity !== undefined) moving.push(join('secrets', IDENTITY_FILE));
  let aside: string | undefined;
  if (moving.length > 0) {
    aside = join(d, `pre-restore-${stampOf(new Date())}`);
    await mkdir(join(aside, 'secrets'), { recursive: true, mode: 0o700 });
    for (const n of moving) await rename(join(d, n), join(aside, n));
  }
  await rename(join(staging, 'hiy.db'), join(d, 'hiy.db'));
  if (tls) await rename(join(staging, TLS_DIR), join(d, TLS_DIR));
  await mkdir(join(d, 'repos'), { recursive: true, mode: 0o700 });
  const repos = createBareRepos(join(d, 'repos'));
  for (const app of m.repos) await repos.restoreBundle(app, join(staging, 'repos', `${app}.bundle`));
  if (replaceIdentity) {
    await mkdir(join(d, 'secrets'), { recursive: true, mode: 0o700 });
    await writeFile(identityPath, `# hiy env var key (restored): back it up; without it env vars cannot be decrypted\n${identity}\n`, { mode: 0o600 });
  }
  if (keepInstance && m.instance_id && /^[0-9a-f]{16}$/.test(m.instance_id)) await writeFile(join(d, 'instance-id'), `${m.instance_id}\n`, { mode: 0o600 });
  return aside;
}

async function restoreVolumes(cfg: Config, staging: string, m: Manifest, log: (line: string) => void): Promise<string[]> {
  const names = m.volumes ?? [];
  if (m.volumes === null) return [`the backup holds no app volumes: ${m.volumes_note ?? 'they were not backed up'}`];
  if (names.length === 0) return [];
  const keepDir = join(cfg.dataDir, `restored-volumes-${stampOf(new Date())}`);
  const notes: string[] = [];
  const instance = m.instance_id ?? (await readFile(join(cfg.dataDir, 'instance-id'), 'utf8').then((s) => s.trim(), () => 'restored'));
  const eng = await engine(cfg.dockerHost, instance);
  for (const name of names) {
    const app = m.apps.find((a) => name === `hiy-${a}-data`);
    const from = join(staging, 'volumes', name);
    if (!app || !existsSync(from)) continue;
    const res = 'runtime' in eng ? await importVolume(eng.runtime, app, from) : { name, restored: false as const, reason: eng.reason };
    if (res.restored) { log(`volume ${name} restored`); continue; }
    await mkdir(keepDir, { recursive: true, mode: 0o700 });
    await rename(from, join(keepDir, name));
    notes.push(`${res.reason}; the backup's copy is in ${join(keepDir, name)}`);
  }
  return notes;
}
