/**
 * Streaming age encryption of backups (X25519 recipients), and decryption whose failures say
 * what went wrong: no key, a key that does not fit, or a file that is cut short or damaged.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HiyError } from '../errors.js';

const loadAge = () => import('age-encryption');

/** age's armor-less binary header starts with this line. */
export const AGE_MAGIC = 'age-encryption.org/v1\n';

export async function encryptStream(plain: Readable, recipients: string[]): Promise<Readable> {
  const { Encrypter } = await loadAge();
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const web = Readable.toWeb(plain) as unknown as ReadableStream<Uint8Array>;
  const out = await e.encrypt(web);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/** The AGE-SECRET-KEY-… lines of an identity file (comments and blank lines skipped). */
export function identitiesIn(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(l));
}

export async function recipientOf(identity: string): Promise<string> {
  const { identityToRecipient } = await loadAge();
  return identityToRecipient(identity);
}

/**
 * Opens an encrypted backup stream. Rejects at once (header stage) when no identity fits or the
 * file is not an age file; errors later in the returned stream mean truncation or damage.
 */
export async function decryptStream(cipher: Readable, identities: string[], fileName: string): Promise<Readable> {
  const { Decrypter } = await loadAge();
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  const web = Readable.toWeb(cipher) as unknown as ReadableStream<Uint8Array>;
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(web);
  } catch (cause) {
    throw headerError(cause, identities.length, fileName);
  }
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

function headerError(cause: unknown, nIdentities: number, fileName: string): HiyError {
  const msg = (cause as Error)?.message ?? String(cause);
  if (/no identity matched|no identities/i.test(msg)) {
    return new HiyError('forbidden', nIdentities === 0
      ? `${fileName} is encrypted: pass --key FILE, the age identity file whose public key is HIY_BACKUP_RECIPIENT`
      : `none of the given keys opens ${fileName}: it was encrypted to another HIY_BACKUP_RECIPIENT (--key FILE must hold that recipient's AGE-SECRET-KEY)`, { cause });
  }
  return new HiyError('invalid_input', `${fileName} is not a readable hiy backup: its age header is missing or damaged (${msg})`, { cause });
}

/** What a failure while streaming the body means for the operator. */
export function bodyError(cause: unknown, fileName: string): HiyError {
  if (cause instanceof HiyError) return cause;
  const msg = (cause as Error)?.message ?? String(cause);
  return new HiyError('invalid_input', `${fileName} is truncated or damaged and was not restored (${msg}). Nothing was changed; use another backup file`, { cause });
}
