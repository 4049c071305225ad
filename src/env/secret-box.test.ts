import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { IDENTITY_FILE, openSecretBox } from './secret-box.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('secret box', { timeout: 30_000 }, () => {
  it('creates a 0600 identity in a 0700 folder on first open', async () => {
    const secrets = join(dir, 'a', 'secrets');
    await openSecretBox(secrets);
    assert.equal(statSync(secrets).mode & 0o777, 0o700);
    const file = join(secrets, IDENTITY_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
  });

  it('round-trips values without the plaintext in the ciphertext', async () => {
    const box = await openSecretBox(join(dir, 'b'));
    const marker = 'MARKER-plaintext-7f3a';
    const enc = await box.encrypt(marker);
    assert.ok(!enc.includes(Buffer.from(marker)), 'plaintext absent');
    assert.ok(!enc.includes(Buffer.from(Buffer.from(marker).toString('base64'))), 'base64 absent');
    assert.match(enc.subarray(0, 40).toString('latin1'), /^age-encryption\.org\/v1/);
    assert.equal(await box.decrypt(enc), marker);
    assert.equal(await box.decrypt(await box.encrypt('')), '');
    assert.notDeepEqual(await box.encrypt(marker), enc, 'a fresh file key per value');
  });

  it('keeps the identity across opens and refuses another identity', async () => {
    const folder = join(dir, 'c');
    const enc = await (await openSecretBox(folder)).encrypt('v');
    assert.equal(await (await openSecretBox(folder)).decrypt(enc), 'v');
    const other = await openSecretBox(join(dir, 'd'));
    await assert.rejects(other.decrypt(enc), (err: unknown) => err instanceof HiyError && /cannot be decrypted/.test(err.message));
  });

  it('repairs loose permissions and refuses an identity file without a key', async () => {
    const folder = join(dir, 'e');
    await openSecretBox(folder);
    const file = join(folder, IDENTITY_FILE);
    const { chmodSync } = await import('node:fs');
    chmodSync(file, 0o644);
    await openSecretBox(folder);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeFileSync(file, '# nothing here\n');
    await assert.rejects(openSecretBox(folder), /holds no AGE-SECRET-KEY identity/);
  });
});
