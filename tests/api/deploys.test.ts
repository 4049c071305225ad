import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

let h: HiyProcess;
let api: ReturnType<typeof apiClient>;
const ids: number[] = [];

before(async () => {
  h = await startHiy();
  api = apiClient(h);
  for (const name of ['blog', 'shop']) assert.equal((await api('POST', '/apps', { name })).status, 201);
  // Deploys are written by the pipeline; here straight into the server's database (WAL allows it).
  const db = new SQLite(join(h.dataDir, 'hiy.db'));
  try {
    const insert = db.prepare('insert into deploys (app, sha, status, triggered_by, log, error, created_at, started_at, finished_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const rows: [string, string, string, string, string, string | null][] = [
      ['blog', 'a'.repeat(40), 'success', 'git', '-----> Building\n-----> Done\n', null],
      ['blog', 'b'.repeat(40), 'failed', 'cli', '-----> Building\n! npm failed\n', 'build failed'],
      ['shop', 'c'.repeat(40), 'success', 'webhook', 'shop log', null],
      ['blog', 'd'.repeat(40), 'queued', 'manual', '', null],
    ];
    rows.forEach(([app, sha, status, by, log, error], i) => {
      const t = new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString();
      ids.push(Number(insert.run(app, sha, status, by, log, error, t, t, status === 'queued' ? null : t).lastInsertRowid));
    });
  } finally {
    db.close();
  }
});
after(async () => { await h?.stop(); });

describe('deploys API', { timeout: 60_000 }, () => {
  it('lists an app\'s deploys newest first, without logs', async () => {
    const res = await api('GET', '/apps/blog/deploys');
    assert.equal(res.status, 200);
    assert.equal(res.body.app, 'blog');
    assert.deepEqual(res.body.deploys.map((d: { id: number }) => d.id), [ids[3], ids[1], ids[0]]);
    assert.deepEqual(res.body.deploys.map((d: { status: string }) => d.status), ['queued', 'failed', 'success']);
    assert.equal(res.body.deploys[1].error, 'build failed');
    for (const d of res.body.deploys) assert.equal(d.log, undefined);
    assert.deepEqual((await api('GET', '/apps/blog/deploys?limit=1')).body.deploys.map((d: { id: number }) => d.id), [ids[3]]);
  });

  it('shows one deploy with its log', async () => {
    const res = await api('GET', `/apps/blog/deploys/${ids[1]}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.deploy.log, '-----> Building\n! npm failed\n');
    assert.equal(res.body.deploy.sha, 'b'.repeat(40));
    assert.equal(res.body.deploy.triggered_by, 'cli');
  });

  it('does not show another app\'s deploy', async () => {
    assert.equal((await api('GET', `/apps/blog/deploys/${ids[2]}`)).status, 404);
    assert.equal((await api('GET', '/apps/blog/deploys/99999')).status, 404);
  });

  it('shows the last deploy on the app', async () => {
    const app = (await api('GET', '/apps/blog')).body.app;
    assert.equal(app.last_deploy.id, ids[3]);
    assert.equal(app.last_deploy.status, 'queued');
  });
});
