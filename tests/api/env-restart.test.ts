import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployer } from '../../src/deploy/deployer.js';
import { HiyError } from '../../src/errors.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';

// The restart decision after an env change, with the server in-process so its deployer can be a
// recording fake; everything else (HTTP, database, encryption) is real.

let h: InProcessHiy;
let api: ReturnType<typeof apiClient>;
const restarts: string[] = [];
const triggers: string[] = [];
let restartFails: Error | undefined;

before(async () => {
  h = await startInProcess();
  api = apiClient(h);
  const fake = {
    deployBranchHead: async () => 0,
    restart: async (app: string, trigger: string) => { if (restartFails) throw restartFails; restarts.push(app); triggers.push(trigger); return 77; },
    rollback: async () => ({ deployId: 0, targetVersion: 0 }),
    forgetApp: async () => {},
  };
  h.running.services.deployer = fake as unknown as Deployer;
  for (const name of ['live', 'fresh']) assert.equal((await api('POST', '/apps', { name })).status, 201);
  // Give "live" a current release, as a finished deploy would.
  const db = h.running.services.db;
  const now = new Date().toISOString();
  const d = await db.insertInto('deploys').values({ app: 'live', sha: 'a'.repeat(40), status: 'success', triggered_by: 'git', error: null, rollback_to: null, created_at: now, started_at: now, finished_at: now }).returning('id').executeTakeFirstOrThrow();
  const r = await db.insertInto('releases').values({ app: 'live', version: 1, deploy_id: d.id, sha: 'a'.repeat(40), image: 'hiy/live:a', slot: 'a', created_at: now }).returning('id').executeTakeFirstOrThrow();
  await db.updateTable('apps').set({ current_release_id: r.id }).where('name', '=', 'live').execute();
});
after(async () => { await h?.stop(); });

describe('env change restarts', { timeout: 60_000 }, () => {
  it('restart a deployed app after set and unset', async () => {
    restarts.length = 0;
    const set = await api('PATCH', '/apps/live/env', { vars: { A: '1' } });
    assert.deepEqual(set.body, { app: 'live', set: ['A'], restarted: true, deploy_id: 77 });
    const unset = await api('DELETE', '/apps/live/env', { keys: ['A'] });
    assert.equal(unset.body.restarted, true);
    assert.deepEqual(restarts, ['live', 'live']);
  });

  it('record who asked: the CLI\'s restarts as "cli", other API clients\' as "api"', async () => {
    triggers.length = 0;
    const patch = (headers: Record<string, string>) => fetch(`${h.url}/api/v1/apps/live/env`, {
      method: 'PATCH', headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ vars: { T: '1' } }),
    });
    assert.equal((await patch({ 'x-hiy-client': 'cli' })).status, 200);
    assert.equal((await patch({})).status, 200);
    const del = await fetch(`${h.url}/api/v1/apps/live/env/T`, { method: 'DELETE', headers: { authorization: `Bearer ${h.token}`, 'x-hiy-client': 'cli' } });
    assert.equal(del.status, 200);
    assert.deepEqual(triggers, ['cli', 'api', 'cli']);
  });

  it('do not restart with restart:false, without a release, or when nothing was unset', async () => {
    restarts.length = 0;
    assert.equal((await api('PATCH', '/apps/live/env', { vars: { B: '1' }, restart: false })).body.restarted, false);
    assert.equal((await api('DELETE', '/apps/live/env/B?restart=false')).body.restarted, false);
    assert.equal((await api('PATCH', '/apps/fresh/env', { vars: { B: '1' } })).body.restarted, false);
    assert.equal((await api('DELETE', '/apps/live/env', { keys: ['NOT_THERE'] })).body.restarted, false);
    assert.deepEqual(restarts, []);
  });

  it('still save and answer 200 when deploys are unavailable', async () => {
    restartFails = new HiyError('unavailable', 'docker is down');
    try {
      const res = await api('PATCH', '/apps/live/env', { vars: { C: '3' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.restarted, false);
      assert.equal((await api('GET', '/apps/live/env/C?reveal=1')).body.value, '3');
    } finally {
      restartFails = undefined;
    }
  });

  it('show the current release and last deploy on the app', async () => {
    const app = (await api('GET', '/apps/live')).body.app;
    assert.equal(app.current_release.version, 1);
    assert.equal(app.current_release.image, 'hiy/live:a');
    assert.equal(app.last_deploy.status, 'success');
  });
});
