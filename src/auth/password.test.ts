import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, SCRYPT_COST, validatePassword, verifyPassword } from './password.js';

describe('dashboard password hashing', { timeout: 60_000 }, () => {
  it('uses scrypt at OWASP cost (N=2^17, r=8, p=1) with a random salt', async () => {
    assert.deepEqual(SCRYPT_COST, { logN: 17, r: 8, p: 1 });
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    assert.match(a, /^scrypt\$17\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b, 'salted');
    assert.equal(await verifyPassword('correct horse battery', a), true);
    assert.equal(await verifyPassword('correct horse batterY', a), false);
    assert.equal(await verifyPassword('', a), false);
  });

  it('verifies hashes made at another cost, and refuses unknown or absurd formats', async () => {
    const cheap = await hashPassword('another long one', { logN: 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('another long one', cheap), true);
    assert.equal(await verifyPassword('x', 'plaintext'), false);
    assert.equal(await verifyPassword('x', `scrypt$30$8$1$${'a'.repeat(22)}$${'b'.repeat(43)}`), false, 'N=2^30 would take 128 GiB');
  });

  it('normalises Unicode so the same visible password matches', async () => {
    const h = await hashPassword('caf\u00e9 au lait!', { logN: 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('cafe\u0301 au lait!', h), true);
  });

  it('requires 10 to 1024 characters without control characters', () => {
    assert.equal(validatePassword('0123456789'), '0123456789');
    assert.throws(() => validatePassword('short'), /too short/);
    assert.throws(() => validatePassword('x'.repeat(1025)), /too long/);
    assert.throws(() => validatePassword('abcdefghij\n'), /control/);
    assert.throws(() => validatePassword(12345678901), /must be a string/);
  });
});
