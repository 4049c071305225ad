import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
before(async () => { h = await startHiy(); api = apiClient(h); });
after(async () => { await h?.stop(); });

function assert401(res: { status: number; body: any }, what: string): void {
  assert.equal(res.status, 401, what);
  assert.equal(res.body.error.code, 'unauthorized', what);
}

describe('API auth and tokens', { timeout: 60_000 }, () => {
  it('answers health without a token, everything else only with one', async () => {
    assert.deepEqual((await api('GET', '/health', undefined, { token: null })).body.ok, true);
    const res = await fetch(`${h.url}/api/v1/apps`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="hiy"');
    assert.match(((await res.json()) as any).error.message, /missing API token/);
    for (const [m, p] of [['GET', '/apps'], ['POST', '/apps'], ['GET', '/apps/x'], ['PATCH', '/apps/x/env'], ['GET', '/tokens'], ['POST', '/tokens'], ['DELETE', '/tokens/1'], ['GET', '/apps/x/deploys']] as const) {
      assert401(await api(m, p, undefined, { token: null }), `${m} ${p} without token`);
      assert401(await api(m, p, undefined, { token: `${h.token}x` }), `${m} ${p} wrong token`);
    }
    assert.equal((await api('GET', '/apps')).status, 200, 'the admin token works');
  });

  it('does not create anything for an unauthenticated request', async () => {
    assert401(await api('POST', '/apps', { name: 'sneaky' }, { token: 'hiy_' + 'A'.repeat(43) }), 'forged token');
    assert.deepEqual((await api('GET', '/apps')).body.apps, []);
  });

  it('creates a token that is shown once and stored hashed', async () => {
    const res = await api('POST', '/tokens', { name: 'ci' });
    assert.equal(res.status, 201);
    const value: string = res.body.value;
    assert.match(value, /^hiy_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.token.name, 'ci');
    assert.equal(res.body.token.prefix, value.slice(0, 10));
    const list = await api('GET', '/tokens');
    assert.ok(!JSON.stringify(list.body).includes(value), 'the list never shows it');
    assert.deepEqual(list.body.tokens.map((t: { name: string }) => t.name), ['admin (HIY_ADMIN_TOKEN)', 'ci']);
    assert.equal((await api('GET', '/apps', undefined, { token: value })).status, 200, 'new token works');
    // Basic auth (what git sends) carries the token as the password.
    const basic = await fetch(`${h.url}/api/v1/apps`, { headers: { authorization: `Basic ${Buffer.from(`any:${value}`).toString('base64')}` } });
    assert.equal(basic.status, 200);
    for (const f of ['hiy.db', 'hiy.db-wal']) {
      const bytes = readFileSync(join(h.dataDir, f));
      assert.ok(!bytes.includes(Buffer.from(value)), `token plaintext not in ${f}`);
      assert.ok(!bytes.includes(Buffer.from(h.token)), `admin token plaintext not in ${f}`);
    }
    assert.ok(!h.output().includes(value), 'not in the server log');
  });

  it('revokes a token: it stops working at once and cannot be revoked twice', async () => {
    const made = await api('POST', '/tokens', { name: 'laptop' });
    const id = made.body.token.id;
    const res = await api('DELETE', `/tokens/${id}`);
    assert.equal(res.status, 200);
    assert.ok(res.body.token.revoked_at);
    assert401(await api('GET', '/apps', undefined, { token: made.body.value }), 'revoked token');
    assert.equal((await api('DELETE', `/tokens/${id}`)).status, 404);
    assert.equal((await api('DELETE', '/tokens/9999')).status, 404);
    const listed = (await api('GET', '/tokens')).body.tokens.find((t: { id: number }) => t.id === id);
    assert.ok(listed.revoked_at, 'listed as revoked');
  });

  it('lets a token revoke itself', async () => {
    const made = await api('POST', '/tokens', { name: 'leaked' });
    const self = apiClient({ url: h.url, token: made.body.value });
    const res = await self('DELETE', `/tokens/${made.body.token.id}`);
    assert.equal(res.status, 200);
    assert401(await self('GET', '/tokens'), 'after revoking itself');
  });

  it('logs failed logins without the token', async () => {
    await api('GET', '/apps', undefined, { token: 'hiy_not-a-real-token-but-long-enough' });
    await new Promise((r) => setTimeout(r, 100));
    assert.match(h.output(), /"event":"auth_failed"/);
    assert.ok(!h.output().includes('not-a-real-token'));
  });
});
