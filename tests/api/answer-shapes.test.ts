import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';

// The API names releases by version everywhere and answers with objects, not JSON in strings.
// Rows are written straight into the database so that release ids and versions differ, as they
// do on any box with more than one app.

let h: InProcessHiy;
let api: ReturnType<typeof apiClient>;
let rollbackDeploy = 0;

before(async () => {
  h = await startInProcess();
  api = apiClient(h);
  for (const name of ['one', 'two']) assert.equal((await api('POST', '/apps', { name })).status, 201);
  const db = h.running.services.db;
  const now = new Date().toISOString();
  const deploy = async (app: string, rollbackTo: number | null = null) => (await db.insertInto('deploys').values({
    app, sha: 'a'.repeat(40), status: 'success', triggered_by: rollbackTo === null ? 'git' : 'rollback', error: null, rollback_to: rollbackTo, created_at: now, started_at: now, finished_at: now,
  }).returning('id').executeTakeFirstOrThrow()).id;
  const release = async (app: string, version: number, processes: string | null) => (await db.insertInto('releases').values({
    app, version, deploy_id: await deploy(app), sha: 'a'.repeat(40), image: `hiy/${app}:v${version}`, slot: 'a', processes, created_at: now,
  }).returning('id').executeTakeFirstOrThrow()).id;
  await release('two', 1, null);
  await release('one', 1, '{}');
  await release('two', 2, null);
  const oneV2 = await release('one', 2, '{"web":"node server.js","worker":"node worker.js"}');
  assert.notEqual(oneV2, 2, 'ids and versions differ');
  rollbackDeploy = await deploy('one', oneV2);
  await db.updateTable('apps').set({ current_release_id: oneV2 }).where('name', '=', 'one').execute();
});
after(async () => { await h?.stop(); });

describe('API answers', { timeout: 60_000 }, () => {
  it('releases carry their process types as an object', async () => {
    const res = await api('GET', '/apps/one/releases');
    assert.equal(res.status, 200);
    assert.equal(res.body.current, 2);
    assert.deepEqual(res.body.releases.map((r: { version: number; processes: unknown }) => [r.version, r.processes]), [
      [2, { web: 'node server.js', worker: 'node worker.js' }],
      [1, {}],
    ]);
    // app.json's jobs likewise: a value, not JSON text (none here).
    assert.deepEqual(res.body.releases.map((r: { cron: unknown }) => r.cron), [null, null]);
  });

  it('a rollback deploy names its target by version, in the listing and alone', async () => {
    const list = await api('GET', '/apps/one/deploys');
    assert.equal(list.body.deploys.find((d: { id: number }) => d.id === rollbackDeploy).rollback_to, 2);
    assert.equal((await api('GET', `/apps/one/deploys/${rollbackDeploy}`)).body.deploy.rollback_to, 2);
    assert.equal(list.body.deploys.find((d: { id: number }) => d.id !== rollbackDeploy).rollback_to, null);
  });

  it('a volume is unmounted by a DELETE without a body; a second one is 404', async () => {
    assert.equal((await api('POST', '/apps/two/volumes', { path: '/var/lib/app' })).status, 201);
    const res = await api('DELETE', '/apps/two/volumes/var/lib/app');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { app: 'two', unmounted: '/var/lib/app', data_kept_in: 'hiy-two-data', restarted: false });
    assert.equal((await api('DELETE', '/apps/two/volumes/var/lib/app')).status, 404);
    // The older form, with the path in a body, still works.
    assert.equal((await api('POST', '/apps/two/volumes', { path: '/data' })).status, 201);
    assert.equal((await api('DELETE', '/apps/two/volumes', { path: '/data' })).body.unmounted, '/data');
    // One rule for every DELETE of something that is not there.
    for (const path of ['/apps/two/repo-token', '/apps/two/env/NOPE', '/apps/two/domains/nope.example.com', '/tokens/99999', '/apps/nope']) {
      assert.equal((await api('DELETE', path)).status, 404, path);
    }
  });

  it('health says which server and API version answer, and every API answer carries the API version', async () => {
    const health = await api('GET', '/health', undefined, { token: null });
    assert.deepEqual(health.body, { ok: true, ready: true, version: '0.1.0', api_version: 1 });
    for (const path of ['/api/v1/health', '/api/v1/apps', '/api/v1/nope']) {
      const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${h.token}` } });
      assert.equal(res.headers.get('x-hiy-api-version'), '1', path);
    }
    const unauthorized = await fetch(`${h.url}/api/v1/apps`);
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers.get('x-hiy-api-version'), '1', 'errors too');
  });
});
