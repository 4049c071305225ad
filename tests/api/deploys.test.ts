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

  it('pages deploys, releases and runs by cursor: ?before=<id>&limit=, `next` until the last page', async () => {
    const page1 = (await api('GET', '/apps/blog/deploys?limit=2')).body;
    assert.deepEqual([page1.deploys.map((d: { id: number }) => d.id), page1.next], [[ids[3], ids[1]], ids[1]]);
    const page2 = (await api('GET', `/apps/blog/deploys?limit=2&before=${page1.next}`)).body;
    assert.deepEqual([page2.deploys.map((d: { id: number }) => d.id), page2.next], [[ids[0]], null]);
    assert.equal((await api('GET', '/apps/blog/deploys')).body.next, null);
    assert.equal((await api('GET', '/apps/blog/deploys?before=0')).status, 400);
    assert.equal((await api('GET', '/apps/blog/deploys?limit=201')).status, 400);

    // Releases and runs the same way (rows written as the pipeline and the run audit would).
    const db = new SQLite(join(h.dataDir, 'hiy.db'));
    const rel: number[] = [];
    const runs: number[] = [];
    try {
      const t = new Date().toISOString();
      for (const v of [1, 2, 3]) rel.push(Number(db.prepare('insert into releases (app, version, deploy_id, sha, image, slot, created_at) values (?, ?, ?, ?, ?, ?, ?)').run('blog', v, ids[0], 'a'.repeat(40), `hiy/blog:${v}`, 'a', t).lastInsertRowid));
      for (const c of ['one', 'two', 'three']) runs.push(Number(db.prepare("insert into runs (app, kind, process, command, by, mode, started_at, status) values ('blog', 'run', 'web', ?, 'test', 'pipe', ?, 'exited')").run(c, t).lastInsertRowid));
    } finally {
      db.close();
    }
    const all = (await api('GET', '/apps/blog/releases')).body;
    assert.deepEqual([all.releases.map((r: { version: number }) => r.version), all.next], [[3, 2, 1], null], 'no limit: every release, as before');
    const r1 = (await api('GET', '/apps/blog/releases?limit=2')).body;
    assert.deepEqual([r1.releases.map((r: { version: number }) => r.version), r1.next], [[3, 2], rel[1]]);
    const r2 = (await api('GET', `/apps/blog/releases?limit=2&before=${r1.next}`)).body;
    assert.deepEqual([r2.releases.map((r: { version: number }) => r.version), r2.next], [[1], null]);
    const u1 = (await api('GET', '/apps/blog/runs?limit=2')).body;
    assert.deepEqual([u1.runs.map((r: { id: number }) => r.id), u1.next], [[runs[2], runs[1]], runs[1]]);
    const u2 = (await api('GET', `/apps/blog/runs?limit=2&before=${u1.next}`)).body;
    assert.deepEqual([u2.runs.map((r: { id: number }) => r.id), u2.next], [[runs[0]], null]);

    // The CLI: --limit, and a line saying how to get the next page.
    const { execFile } = await import('node:child_process');
    const { hiyEntry } = await import('../../harness/paths.js');
    const cli = (...args: string[]) => new Promise<string>((resolve, reject) => execFile(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: h.dataDir, HIY_URL: h.url, HIY_TOKEN: h.token }, timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(String(errOut))) : resolve(String(out)))));
    const out = await cli('deploys', 'blog', '--limit', '2');
    assert.match(out, new RegExp(`More: hiy deploys blog --before ${ids[1]}\\n$`));
    assert.doesNotMatch(await cli('deploys', 'blog', '--limit', '2', '--before', String(ids[1])), /More:/);
    assert.match(await cli('releases', 'blog', '--limit', '1'), new RegExp(`More: hiy releases blog --before ${rel[2]}`));
    assert.match(await cli('runs', 'blog', '-n', '1'), new RegExp(`More: hiy runs blog --before ${runs[2]}`));
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
