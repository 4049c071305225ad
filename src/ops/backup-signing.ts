/**
 * Backups are signed. Anyone holding HIY_BACKUP_RECIPIENT (a public key: it sits in hiy.env, in
 * docs, in chat logs) can encrypt a file that decrypts fine with the backup key, so decryption
 * alone does not say who wrote a backup. Every `hiy backup` therefore also writes
 * `<file>.sig`: an Ed25519 signature over the SHA-256 of the encrypted file, with a key only the
 * server holds (`<data>/secrets/backup-signing.pem`, 0600, made at the first backup). Verifying
 * needs only its public key (`ed25519:<base64>`, printed by every backup: keep it with the backup
 * key), so a new box can check a backup of the old one. `hiy restore` refuses a file whose
 * signature is missing or does not verify, unless told `--unsigned`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HiyError } from '../errors.js';

export const SIGNING_KEY_FILE = 'backup-signing.pem';
const FORMAT = 'hiy-backup-signature v1';
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const signatureFileOf = (backup: string): string => `${backup}.sig`;

/** `ed25519:<base64 of the raw 32-byte public key>`: what the operator keeps and passes to --signer. */
export function publicKeyText(key: KeyObject): string {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
  return `ed25519:${der.subarray(SPKI_PREFIX.length).toString('base64')}`;
}

export function parsePublicKey(text: string): KeyObject {
  const m = /^ed25519:([A-Za-z0-9+/]{43}=)$/.exec(text.trim());
  if (!m?.[1]) throw new HiyError('invalid_input', `"${text.trim().slice(0, 80)}" is not a backup signing key (ed25519:<44 base64 characters>, printed by hiy backup)`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(m[1], 'base64')]), format: 'der', type: 'spki' });
}

/** The server's signing key, made on first use. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<KeyObject> {
  const file = join(dataDir, 'secrets', SIGNING_KEY_FILE);
  if (existsSync(file)) return createPrivateKey(await readFile(file, 'utf8'));
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  return privateKey;
}

/** The public key of a data dir's signing key, if it has one (a restore on the same box). */
export function localSigner(dataDir: string): KeyObject | undefined {
  const file = join(dataDir, 'secrets', SIGNING_KEY_FILE);
  return existsSync(file) ? createPublicKey(createPrivateKey(readFileSync(file, 'utf8'))) : undefined;
}

async function fileDigest(path: string): Promise<Buffer> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest();
}

const signedMessage = (digest: Buffer) => Buffer.concat([Buffer.from(`${FORMAT}\n`), digest]);

/** Signs `file` (the encrypted backup) into `sigPath`, written atomically. */
export async function signBackup(file: string, sigPath: string, key: KeyObject): Promise<string> {
  const sig = sign(null, signedMessage(await fileDigest(file)), key);
  const text = `${FORMAT}\nkey ${publicKeyText(key)}\nsig ${sig.toString('base64')}\n`;
  const tmp = `${sigPath}.partial`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, sigPath);
  return publicKeyText(key);
}

export type Verdict = { ok: true; signer: string } | { ok: false; reason: string };

/** Checks `file` against its signature file with any of `signers`. */
export async function verifyBackup(file: string, sigPath: string, signers: KeyObject[]): Promise<Verdict> {
  let text: string;
  try {
    text = await readFile(sigPath, 'utf8');
  } catch {
    return { ok: false, reason: `it has no signature (${sigPath} is missing)` };
  }
  const sig = /^sig ([A-Za-z0-9+/]+={0,2})$/m.exec(text)?.[1];
  if (!text.startsWith(`${FORMAT}\n`) || !sig) return { ok: false, reason: `${sigPath} is not a hiy backup signature` };
  if (signers.length === 0) {
    const named = /^key (ed25519:\S+)$/m.exec(text)?.[1] ?? 'unknown';
    return { ok: false, reason: `no signing key to check it with: pass --signer with the key hiy backup printed (this file names ${named}; a key named in the file proves nothing)` };
  }
  const message = signedMessage(await fileDigest(file));
  for (const key of signers) {
    if (verify(null, message, key, Buffer.from(sig, 'base64'))) return { ok: true, signer: publicKeyText(key) };
  }
  return { ok: false, reason: `its signature does not verify with ${signers.map(publicKeyText).join(', ')}: it was not written by a hiy holding that key, or it was changed since` };
}
