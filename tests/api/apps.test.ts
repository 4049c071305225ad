import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
before(async () => { h = await startHiy(); api = apiClient(h); });
after(async () => { await h?.stop(); });

describe('apps API', { timeout: 60_000 }, () => {
  it('creates an app with defaults, its bare repo, domain and git remote', async () => {
    const res = await api('POST', '/apps', { name: 'hone-blog' });
    assert.equal(res.status, 201);
    const a = res.body.app;
    assert.equal(a.name, 'hone-blog');
    assert.equal(a.branch, 'main');
    assert.equal(a.port, 5000);
    assert.equal(a.repo_url, null);
    assert.equal(a.domain, 'hone-blog.localhost');
    assert.match(a.url, /^https:\/\/hone-blog\.localhost:\d+$/);
    assert.equal(a.git_remote, `https://hiy.localhost:${h.env.HIY_HTTPS_PORT}/git/hone-blog.git`);
    assert.equal(a.current_release, null);
    assert.equal(a.last_deploy, null);
    assert.equal(a.slot_index, undefined, 'internal fields stay inside');
    assert.ok(existsSync(join(h.dataDir, 'repos', 'hone-blog.git', 'HEAD')), 'bare repo made');
  });

  it('takes every setting at create', async () => {
    const body = { name: 'hone-shop', repo_url: 'https://github.com/me/hone-shop.git', branch: 'release/2', port: 8080, memory_mb: 256, cpus: 1.5, health_path: '/healthz', health_timeout_s: 30, drain_s: 5 };
    const res = await api('POST', '/apps', body);
    assert.equal(res.status, 201);
    const { name: _n, ...settings } = body;
    for (const [k, v] of Object.entries(settings)) assert.equal(res.body.app[k], v, k);
  });

  it('lists apps by name and shows one', async () => {
    const list = await api('GET', '/apps');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.apps.map((a: { name: string }) => a.name), ['hone-blog', 'hone-shop']);
    const show = await api('GET', '/apps/hone-shop');
    assert.equal(show.status, 200);
    assert.equal(show.body.app.port, 8080);
  });

  it('refuses a duplicate with 409 and leaves the first alone', async () => {
    const res = await api('POST', '/apps', { name: 'hone-blog', port: 1234 });
    assert.equal(res.status, 409);
    assert.deepEqual(res.body, { error: { code: 'conflict', message: 'app "hone-blog" already exists' } });
    assert.equal((await api('GET', '/apps/hone-blog')).body.app.port, 5000);
  });

  it('updates settings and clears the repo', async () => {
    const res = await api('PATCH', '/apps/hone-shop', { port: 9000, branch: 'main', repo_url: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.app.port, 9000);
    assert.equal(res.body.app.branch, 'main');
    assert.equal(res.body.app.repo_url, null);
    assert.equal(res.body.app.memory_mb, 256, 'untouched fields stay');
    assert.equal((await api('GET', '/apps/hone-shop')).body.app.port, 9000);
  });

  it('answers 404 for an unknown app on every verb', async () => {
    for (const [m, p, b] of [['GET', '/apps/nope'], ['PATCH', '/apps/nope', { port: 1 }], ['DELETE', '/apps/nope'], ['GET', '/apps/nope/env'], ['GET', '/apps/nope/deploys']] as const) {
      const res = await api(m, p, b);
      assert.equal(res.status, 404, `${m} ${p}`);
      assert.deepEqual(res.body, { error: { code: 'not_found', message: 'app "nope" not found' } });
    }
  });

  it('destroys an app: row, repo and env vars', async () => {
    assert.equal((await api('PATCH', '/apps/hone-blog/env', { vars: { A: '1' } })).status, 200);
    const res = await api('DELETE', '/apps/hone-blog');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { destroyed: 'hone-blog', volumes_removed: [] });
    assert.equal((await api('GET', '/apps/hone-blog')).status, 404);
    assert.ok(!existsSync(join(h.dataDir, 'repos', 'hone-blog.git')), 'repo removed');
    assert.deepEqual((await api('GET', '/apps')).body.apps.map((a: { name: string }) => a.name), ['hone-shop']);
    // A new app of the same name starts empty.
    assert.equal((await api('POST', '/apps', { name: 'hone-blog' })).status, 201);
    assert.deepEqual((await api('GET', '/apps/hone-blog/env')).body.env, {});
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await api('GET', '/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });
});
