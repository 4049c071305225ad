/**
 * Per-app placement on one engine (no Swarm: the host's own engine, the container runtime): the
 * setting is validated, stored and shown in the API, `hiy update`, `hiy info` and the dashboard's
 * settings, each saying it has no effect here, and nothing restarts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureDocker } from '../../harness/docker.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { runHiy } from '../helpers/processes.js';
import { dashboardSession } from '../helpers/dashboard-session.js';
import { setPassword } from '../ui/dashboard-app.js';

describe('per-app placement on one engine', { timeout: 120_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const app = `po-${randomBytes(3).toString('hex')}`;
  const cli = (...args: string[]) => runHiy(args, { HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, 60_000);

  before(async () => {
    await ensureDocker();
    hiy = await startHiy({ env: { HIY_RUNTIME: 'docker' } });
    api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: app })).status, 201);
  });
  after(async () => {
    await hiy?.stop();
  });

  test('stored and shown, with "no effect" in the CLI, the API and the dashboard; nothing restarts', async () => {
    const u = await cli('update', app, '--node-label', 'role=fast', '--node-label', 'disk=ssd', '--no-spread');
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /placement +nodes with disk=ssd,role=fast, no spread \(no effect: one engine\)/);
    assert.match(u.stdout, /Placement stored; it has no effect here: one engine/);
    assert.doesNotMatch(u.stdout, /Moving/);
    const shown = await api('GET', `/apps/${app}`);
    assert.deepEqual(shown.body.app.node_labels, { disk: 'ssd', role: 'fast' });
    assert.equal(shown.body.app.spread, false);
    assert.equal(shown.body.placement.applies, false);
    assert.match(shown.body.placement.note, /one engine/);
    assert.equal((await api('GET', `/apps/${app}/deploys`)).body.deploys.length, 0, 'no restart was made');
    const info = await cli('info', app);
    assert.match(info.stdout, /placement +nodes with disk=ssd,role=fast, no spread \(no effect: one engine\)/);

    assert.equal((await setPassword(hiy, 'correct horse battery staple')).code, 0);
    const cookie = await dashboardSession(hiy.url, 'correct horse battery staple', `/apps/${app}/settings`);
    const page = await (await fetch(`${hiy.url}/apps/${app}/settings`, { headers: { cookie } })).text();
    assert.match(page, /id="placement-labels">disk=ssd, role=fast</);
    assert.match(page, /off: Swarm chooses/);
    assert.match(page, /Placement has no effect here: one engine/);

    const cleared = await cli('update', app, '--node-label-clear', '--spread', '--json');
    assert.equal(cleared.code, 0, cleared.stderr);
    const body = JSON.parse(cleared.stdout) as { app: { node_labels: object; spread: boolean }; placement: unknown; restarted: boolean };
    assert.deepEqual(body.app.node_labels, {});
    assert.equal(body.app.spread, true);
    assert.equal(body.placement, null);
    assert.equal(body.restarted, false);
  });

  test('bad labels are refused with what is allowed, and nothing is stored', async () => {
    const r = await api('PATCH', `/apps/${app}`, { node_labels: { role: 'x y' } });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /node label role: the value must be up to 128 letters/);
    const s = await api('PATCH', `/apps/${app}`, { spread: 'yes' });
    assert.equal(s.status, 400);
    const c = await cli('update', app, '--node-label', 'role');
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /--node-label takes KEY=VALUE/);
    assert.deepEqual((await api('GET', `/apps/${app}`)).body.app.node_labels, {});
  });
});
