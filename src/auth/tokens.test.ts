import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { HiyError } from '../errors.js';
import { countActiveTokens, createToken, hashToken, listTokens, newTokenValue, revokeToken, validateTokenName, verifyToken } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-tokens-'));
let opened: OpenedDb;
before(async () => { opened = await openDatabase(join(dir, 'hiy.db')); });
after(async () => { await opened.close(); rmSync(dir, { recursive: true, force: true }); });

describe('API tokens', { timeout: 30_000 }, () => {
  it('are 256 random bits, base64url, with a prefix', () => {
    const t = newTokenValue();
    assert.match(t, /^hiy_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(t.slice(4), 'base64url').length, 32);
    assert.notEqual(newTokenValue(), t);
  });

  it('are stored as a sha256 hash only', async () => {
    const { token, info } = await createToken(opened.db, 'laptop');
    const row = await opened.db.selectFrom('api_tokens').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashToken(token));
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    assert.equal(row.prefix, token.slice(0, 10));
    opened.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    assert.ok(!readFileSync(join(dir, 'hiy.db')).includes(Buffer.from(token)), 'plaintext not in the database file');
  });

  it('verify while active and stop at revocation', async () => {
    const { token, info } = await createToken(opened.db, 'ci');
    assert.equal((await verifyToken(opened.db, token))?.id, info.id);
    assert.equal(await verifyToken(opened.db, `${token}x`), undefined);
    assert.equal(await verifyToken(opened.db, 'short'), undefined);
    const before = await countActiveTokens(opened.db);
    const revoked = await revokeToken(opened.db, info.id);
    assert.ok(revoked.revoked_at);
    assert.equal(await verifyToken(opened.db, token), undefined);
    assert.equal(await countActiveTokens(opened.db), before - 1);
    await assert.rejects(revokeToken(opened.db, info.id), (e: unknown) => e instanceof HiyError && e.status === 404);
    assert.ok((await listTokens(opened.db)).some((t) => t.id === info.id && t.revoked_at !== null));
  });

  it('have readable names, including the bootstrap one', () => {
    for (const n of ['ci', 'github actions', 'me@laptop', 'admin (HIY_ADMIN_TOKEN)']) assert.equal(validateTokenName(n), n);
    for (const n of ['', 'x'.repeat(65), 'a;b', 'a\nb', 5]) assert.throws(() => validateTokenName(n), /token name: 1-64 characters/);
  });
});
