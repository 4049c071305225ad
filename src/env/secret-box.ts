import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HiyError } from '../errors.js';

/** Encrypts values to the box's age X25519 identity; the identity lives in a 0600 file, never in the database. */
export interface SecretBox {
  encrypt(plaintext: string): Promise<Buffer>;
  decrypt(ciphertext: Uint8Array): Promise<string>;
}

export const IDENTITY_FILE = 'age-identity.txt';

/** Loads `<secretsDir>/age-identity.txt`, creating it (and the 0700 directory) on first start. */
export async function openSecretBox(secretsDir: string): Promise<SecretBox> {
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(secretsDir, 0o700);
  const file = join(secretsDir, IDENTITY_FILE);
  if (!existsSync(file)) {
    const { generateX25519Identity } = await loadAge();
    const identity = await generateX25519Identity();
    writeFileSync(file, `# hiy env var key: back it up; without it env vars cannot be decrypted\n${identity}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const identity = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!identity) throw new HiyError('config', `${file} holds no AGE-SECRET-KEY identity`);
  return secretBoxFromIdentity(identity);
}

/** age-encryption is loaded on first use: an idle hiy with no env change never needs it (~2.5 MB). */
const loadAge = () => import('age-encryption');

export async function secretBoxFromIdentity(identity: string): Promise<SecretBox> {
  let recipient: string | undefined;
  return {
    async encrypt(plaintext) {
      const { Encrypter, identityToRecipient } = await loadAge();
      recipient ??= await identityToRecipient(identity);
      const e = new Encrypter();
      e.addRecipient(recipient);
      return Buffer.from(await e.encrypt(plaintext));
    },
    async decrypt(ciphertext) {
      const { Decrypter } = await loadAge();
      const d = new Decrypter();
      d.addIdentity(identity);
      try {
        return await d.decrypt(new Uint8Array(ciphertext), 'text');
      } catch (cause) {
        throw new HiyError('internal', 'an encrypted value cannot be decrypted with this server\'s age identity (was the identity file replaced?)', { cause });
      }
    },
  };
}
