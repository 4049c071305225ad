import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
before(async () => {
  h = await startHiy();
  api = apiClient(h);
  assert.equal((await api('POST', '/apps', { name: 'blog' })).status, 201);
  assert.equal((await api('POST', '/apps', { name: 'other' })).status, 201);
});
after(async () => { await h?.stop(); });

const SECRET = 'p4ss-w0rd-MARKER-91c2';

describe('env API', { timeout: 60_000 }, () => {
  it('sets several values at once and lists them masked', async () => {
    const res = await api('PATCH', '/apps/blog/env', { vars: { DATABASE_URL: `postgres://u:${SECRET}@db/x`, DEBUG: '0', EMPTY: '' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { app: 'blog', set: ['DATABASE_URL', 'DEBUG', 'EMPTY'], restarted: false });
    const list = await api('GET', '/apps/blog/env');
    assert.deepEqual(list.body, { app: 'blog', revealed: false, env: { DATABASE_URL: '****', DEBUG: '****', EMPTY: '****' }, managed: {} });
    assert.ok(!JSON.stringify(list.body).includes(SECRET));
  });

  it('reveals values only when asked', async () => {
    for (const q of ['reveal=true', 'reveal=1']) {
      const res = await api('GET', `/apps/blog/env?${q}`);
      assert.equal(res.body.revealed, true);
      assert.deepEqual(res.body.env, { DATABASE_URL: `postgres://u:${SECRET}@db/x`, DEBUG: '0', EMPTY: '' });
    }
    assert.equal((await api('GET', '/apps/blog/env?reveal=false')).body.env.DEBUG, '****');
    const one = await api('GET', '/apps/blog/env/DEBUG');
    assert.deepEqual(one.body, { app: 'blog', key: 'DEBUG', revealed: false, value: '****' });
    assert.equal((await api('GET', '/apps/blog/env/DEBUG?reveal=true')).body.value, '0');
    assert.equal((await api('GET', '/apps/blog/env/NOPE')).status, 404);
  });

  it('overwrites, keeps apps apart', async () => {
    await api('PATCH', '/apps/blog/env', { vars: { DEBUG: '1' } });
    assert.equal((await api('GET', '/apps/blog/env/DEBUG?reveal=1')).body.value, '1');
    assert.deepEqual((await api('GET', '/apps/other/env')).body.env, {});
  });

  it('unsets several keys, or one by path', async () => {
    const res = await api('DELETE', '/apps/blog/env', { keys: ['DEBUG', 'EMPTY', 'NEVER_SET'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { app: 'blog', unset: ['DEBUG', 'EMPTY'], restarted: false });
    assert.deepEqual(Object.keys((await api('GET', '/apps/blog/env')).body.env), ['DATABASE_URL']);
    const none = await api('DELETE', '/apps/blog/env', { keys: ['NEVER_SET'] });
    assert.deepEqual(none.body.unset, []);
    const one = await api('DELETE', '/apps/blog/env/DATABASE_URL');
    assert.deepEqual(one.body, { app: 'blog', unset: ['DATABASE_URL'], restarted: false });
    assert.equal((await api('DELETE', '/apps/blog/env/DATABASE_URL')).status, 404);
    assert.deepEqual((await api('GET', '/apps/blog/env')).body.env, {});
  });

  it('unsets several keys named in the query, with no body (DELETE never needs one)', async () => {
    await api('PATCH', '/apps/blog/env', { vars: { A1: 'x', B2: 'y', C3: 'z' } });
    const res = await api('DELETE', '/apps/blog/env?keys=A1,B2,NEVER_SET&restart=false');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { app: 'blog', unset: ['A1', 'B2'], restarted: false });
    assert.deepEqual(Object.keys((await api('GET', '/apps/blog/env')).body.env), ['C3']);
    assert.equal((await api('DELETE', '/apps/blog/env?keys=C3', { keys: ['C3'] })).status, 400, 'query and body at once');
    assert.match((await api('DELETE', '/apps/blog/env?keys=')).body.error.message, /at least one env var/);
    assert.match((await api('DELETE', '/apps/blog/env?keys=bad-key')).body.error.message, /invalid env key "bad-key"/);
    assert.deepEqual((await api('DELETE', '/apps/blog/env?keys=C3')).body.unset, ['C3']);
  });

  it('keeps values out of error messages and logs', async () => {
    const bad = await api('PATCH', '/apps/blog/env', { vars: { OK: SECRET, 'BAD-KEY': SECRET } });
    assert.equal(bad.status, 400);
    assert.ok(!JSON.stringify(bad.body).includes(SECRET));
    const big = await api('PATCH', '/apps/blog/env', { vars: { BIG: SECRET + 'x'.repeat(40_000) } });
    assert.equal(big.status, 400);
    assert.ok(!JSON.stringify(big.body).includes(SECRET));
    await api('PATCH', '/apps/blog/env', { vars: { LOGGED: SECRET } });
    await api('GET', '/apps/blog/env?reveal=true');
    await new Promise((r) => setTimeout(r, 100));
    assert.match(h.output(), /env vars set/, 'the change is logged');
    assert.ok(!h.output().includes(SECRET), 'the value is not');
  });
});
