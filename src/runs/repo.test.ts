import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { finishRun, insertRun, KEEP_RUNS, lastCronRuns, listRuns, settleInterruptedRuns, type NewRun } from './repo.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-runs-'));
const NOW = '2026-01-01T00:00:00.000Z';

const run = (app: string, over: Partial<NewRun> = {}): NewRun => ({
  app, kind: 'run', process: 'run', job: null, command: 'echo hi', by: 'token t', token_id: 1, mode: 'pipe',
  release: 1, container: null, scheduled_at: null, ...over,
});
const cron = (app: string, job: string, over: Partial<NewRun> = {}): NewRun => run(app, { kind: 'cron', process: 'cron', job, by: 'cron', token_id: null, mode: 'detached', ...over });

describe('the runs table: audit and cron history, kept bounded', { timeout: 60_000 }, () => {
  let opened: OpenedDb;
  const count = async (app: string, where: (q: ReturnType<typeof base>) => ReturnType<typeof base> = (q) => q) => Number((await where(base(app)).executeTakeFirstOrThrow()).n);
  const base = (app: string) => opened.db.selectFrom('runs').select((e) => e.fn.countAll().as('n')).where('app', '=', app);

  before(async () => {
    opened = await openDatabase(join(dir, 'hiy.db'));
    for (const [i, name] of ['many', 'jobs', 'other'].entries()) {
      await opened.db.insertInto('apps').values({ name, repo_url: null, slot_index: i, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    }
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the newest one-off runs per app, and never drops one that still runs', async () => {
    const first = await insertRun(opened.db, run('many', { command: 'still running' }));
    for (let i = 0; i < KEEP_RUNS.oneOff + 20; i++) await finishRun(opened.db, await insertRun(opened.db, run('many')), { status: 'exited', exit_code: 0 });
    await insertRun(opened.db, run('other'));
    // The newest KEEP_RUNS.oneOff, and the old one that still runs besides them.
    assert.equal(await count('many', (q) => q.where('status', '!=', 'running')), KEEP_RUNS.oneOff);
    assert.equal(await count('many', (q) => q.where('id', '=', first)), 1, 'the running one is kept');
    assert.equal(await count('many'), KEEP_RUNS.oneOff + 1);
    assert.equal(await count('other'), 1, 'another app\'s records are not touched');
    const newest = await listRuns(opened.db, 'many', { limit: 1 });
    assert.equal(newest[0]!.status, 'exited');
  });

  it('keeps the newest records per cron job apart from one-off runs; the last result skips skips', async () => {
    for (let i = 0; i < KEEP_RUNS.perJob + 10; i++) {
      await finishRun(opened.db, await insertRun(opened.db, cron('jobs', 'aaaaaaaa')), { status: 'exited', exit_code: i % 2 });
    }
    await insertRun(opened.db, cron('jobs', 'aaaaaaaa', { status: 'skipped', reason: 'the previous run (#1) was still running', finished_at: NOW }));
    await finishRun(opened.db, await insertRun(opened.db, cron('jobs', 'bbbbbbbb')), { status: 'exited', exit_code: 3 });
    await insertRun(opened.db, run('jobs'));
    assert.equal(await count('jobs', (q) => q.where('job', '=', 'aaaaaaaa')), KEEP_RUNS.perJob);
    assert.equal(await count('jobs', (q) => q.where('job', '=', 'bbbbbbbb')), 1);
    assert.equal(await count('jobs', (q) => q.where('kind', '=', 'run')), 1);
    const last = await lastCronRuns(opened.db, 'jobs');
    assert.equal(last.get('aaaaaaaa')!.status, 'exited', 'a skip is not the last result');
    assert.equal(last.get('aaaaaaaa')!.exit_code, 1);
    assert.equal(last.get('bbbbbbbb')!.exit_code, 3);
  });

  it('marks records left running by a previous hiy as interrupted', async () => {
    const n = await settleInterruptedRuns(opened.db);
    assert.ok(n >= 2, `${n} settled`);
    assert.equal(await count('many', (q) => q.where('status', '=', 'running')), 0);
    const row = await opened.db.selectFrom('runs').selectAll().where('command', '=', 'still running').executeTakeFirstOrThrow();
    assert.equal(row.status, 'interrupted');
    assert.equal(row.reason, 'hiy stopped while it ran');
    assert.ok(row.finished_at);
  });

  it('goes with the app', async () => {
    await opened.db.deleteFrom('apps').where('name', '=', 'jobs').execute();
    assert.equal(await count('jobs'), 0);
  });
});
