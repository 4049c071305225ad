import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';
import { migrate, openDatabase } from './open.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-migrations-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = '20261129T0900-initial';
const NOW = '2026-01-01T00:00:00.000Z';

describe('migrations', { timeout: 30_000 }, () => {
  it('create every table on a fresh database, in WAL mode', async () => {
    const { db, sqlite, close } = await openDatabase(join(dir, 'fresh', 'hiy.db'));
    try {
      const tables = sqlite.prepare("select name from sqlite_master where type = 'table' order by name").all().map((r) => (r as { name: string }).name);
      for (const t of ['apps', 'deploys', 'releases', 'env_vars', 'api_tokens', 'kysely_migration']) assert.ok(tables.includes(t), `table ${t}`);
      assert.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(sqlite.pragma('foreign_keys', { simple: true }), 1);
      const applied = await db.selectFrom('kysely_migration' as never).select('name' as never).execute();
      assert.deepEqual(applied.map((r) => (r as { name: string }).name), Object.keys(migrations).sort());
    } finally {
      await close();
    }
  });

  it('run nothing the second time and keep the data', async () => {
    const file = join(dir, 'twice', 'hiy.db');
    const first = await openDatabase(file);
    await first.db.insertInto('apps').values({ name: 'blog', repo_url: null, slot_index: 0, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    await first.close();
    const second = await openDatabase(file);
    try {
      assert.deepEqual(await migrate(second.db), [], 'no migration pending');
      const apps = await second.db.selectFrom('apps').select(['name', 'branch', 'port']).execute();
      assert.deepEqual(apps, [{ name: 'blog', branch: 'main', port: 5000 }]);
    } finally {
      await second.close();
    }
  });

  it('bring a database made by the first migration up to date without losing data', async () => {
    const file = join(dir, 'old', 'hiy.db');
    await openDatabase(file).then((o) => o.close()); // creates the folder
    rmSync(file);
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    const old = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    const res = await new Migrator({ db: old, provider: { getMigrations: async () => migrations } }).migrateTo(FIRST);
    assert.equal(res.error, undefined);
    await old.insertInto('apps').values({ name: 'shop', repo_url: 'https://example.com/s.git', slot_index: 3, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    await old.insertInto('env_vars').values({ app: 'shop', key: 'K', value_enc: Buffer.from([1, 2, 3]), updated_at: NOW }).execute();
    await old.insertInto('api_tokens').values({ name: 't', token_hash: 'h'.repeat(64), prefix: 'hiy_ab', created_at: NOW, last_used_at: null, revoked_at: null } as never).execute();
    await old.insertInto('api_tokens').values({ name: 'admin (HIY_ADMIN_TOKEN)', token_hash: 'b'.repeat(64), prefix: 'hiy_cd', created_at: NOW, last_used_at: null, revoked_at: null } as never).execute();
    await old.destroy();

    const reopened = await openDatabase(file);
    try {
      const app = await reopened.db.selectFrom('apps').selectAll().executeTakeFirstOrThrow();
      assert.equal(app.name, 'shop');
      assert.equal(app.slot_index, 3);
      assert.equal(app.repo_url, 'https://example.com/s.git');
      const env = await reopened.db.selectFrom('env_vars').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([...env.value_enc], [1, 2, 3]);
      const tokens = await reopened.db.selectFrom('api_tokens').select(['name', 'bootstrap']).orderBy('id').execute();
      // The token main.ts made from HIY_ADMIN_TOKEN is marked, so rotating the value revokes it.
      assert.deepEqual(tokens, [{ name: 't', bootstrap: 0 }, { name: 'admin (HIY_ADMIN_TOKEN)', bootstrap: 1 }]);
      assert.deepEqual(await migrate(reopened.db), []);
    } finally {
      await reopened.close();
    }
  });

  it('widen the deploys trigger check by rebuilding the table: rows, columns, indexes and the app cascade stay', async () => {
    const file = join(dir, 'triggers', 'hiy.db');
    await openDatabase(file).then((o) => o.close());
    rmSync(file);
    const sqlite = new SQLite(file);
    sqlite.pragma('foreign_keys = ON');
    const old = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    assert.equal((await new Migrator({ db: old, provider: { getMigrations: async () => migrations } }).migrateTo('20261209T1000-app-states')).error, undefined);
    await old.insertInto('apps').values({ name: 'shop', repo_url: null, slot_index: 0, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    await old.insertInto('deploys').values({ app: 'shop', sha: 'a'.repeat(40), status: 'success', triggered_by: 'manual', log: 'the log', error: null, rollback_to: null, image_ref: 'ghcr.io/me/shop:v1', created_at: NOW, started_at: NOW, finished_at: NOW }).execute();
    await assert.rejects(old.insertInto('deploys').values({ app: 'shop', sha: 'b', status: 'queued', triggered_by: 'dashboard', error: null, rollback_to: null, created_at: NOW, started_at: null, finished_at: null }).execute(), /CHECK constraint/);
    await old.destroy();

    const reopened = await openDatabase(file);
    try {
      const row = await reopened.db.selectFrom('deploys').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([row.id, row.triggered_by, row.log, row.image_ref, row.finished_at], [1, 'manual', 'the log', 'ghcr.io/me/shop:v1', NOW]);
      for (const t of ['dashboard', 'api'] as const) {
        await reopened.db.insertInto('deploys').values({ app: 'shop', sha: 'c', status: 'queued', triggered_by: t, error: null, rollback_to: null, created_at: NOW, started_at: null, finished_at: null }).execute();
      }
      await assert.rejects(reopened.db.insertInto('deploys').values({ app: 'shop', sha: 'c', status: 'queued', triggered_by: 'bogus' as never, error: null, rollback_to: null, created_at: NOW, started_at: null, finished_at: null }).execute(), /CHECK constraint/);
      const indexes = reopened.sqlite.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'deploys' and sql is not null order by name").all().map((r) => (r as { name: string }).name);
      assert.deepEqual(indexes, ['deploys_app_id', 'deploys_status']);
      assert.equal((reopened.sqlite.prepare("select count(*) as n from sqlite_master where name = 'deploys_rebuilt'").get() as { n: number }).n, 0);
      await reopened.db.deleteFrom('apps').where('name', '=', 'shop').execute();
      assert.equal((await reopened.db.selectFrom('deploys').selectAll().execute()).length, 0, 'deleting the app still cascades to its deploys');
    } finally {
      await reopened.close();
    }
  });

  it('cascade an app delete to its env vars, deploys and releases', async () => {
    const { db, close } = await openDatabase(join(dir, 'cascade', 'hiy.db'));
    try {
      await db.insertInto('apps').values({ name: 'x', repo_url: null, slot_index: 0, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
      await db.insertInto('env_vars').values({ app: 'x', key: 'K', value_enc: Buffer.from('c'), updated_at: NOW }).execute();
      const d = await db.insertInto('deploys').values({ app: 'x', sha: 'a'.repeat(40), status: 'success', triggered_by: 'git', error: null, rollback_to: null, created_at: NOW, started_at: null, finished_at: null }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('releases').values({ app: 'x', version: 1, deploy_id: d.id, sha: 'a'.repeat(40), image: 'hiy/x:a', slot: 'a', created_at: NOW }).execute();
      await db.deleteFrom('apps').where('name', '=', 'x').execute();
      for (const t of ['env_vars', 'deploys', 'releases'] as const) {
        assert.equal((await db.selectFrom(t).selectAll().execute()).length, 0, t);
      }
    } finally {
      await close();
    }
  });
});
