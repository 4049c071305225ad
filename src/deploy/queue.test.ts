import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { insertApp } from '../apps/repo.js';
import { createLogger } from '../log.js';
import { HiyError } from '../errors.js';
import { DeployQueue } from './queue.js';
import { insertDeploy } from './records.js';
import type { DeployJob } from './pipeline.js';

// The queue's logic with a stand-in runner; the real pipeline is exercised by tests/e2e.
describe('DeployQueue', () => {
  let dir: string;
  let opened: OpenedDb;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-queue-'));
    opened = await openDatabase(join(dir, 'hiy.db'));
    for (const name of ['one', 'two']) await insertApp(opened.db, { name });
  });
  after(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (id: number) => (await opened.db.selectFrom('deploys').select(['status', 'error', 'log']).where('id', '=', id).executeTakeFirstOrThrow());
  const newDeploy = (app: string, sha = 'a'.repeat(40)) => insertDeploy(opened.db, { app, sha, triggered_by: 'git' });

  test('runs one deploy at a time, in order, and records each end', async () => {
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    const q = new DeployQueue(opened.db, createLogger('silent'), async (job: DeployJob) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 30));
      order.push(job.deployId);
      running--;
      if (job.app === 'two') throw new HiyError('build_failed', 'the build broke');
      return { version: 1 };
    });
    const a = q.enqueue({ deployId: await newDeploy('one'), app: 'one', sha: 'a'.repeat(40), trigger: 'git' });
    const b = q.enqueue({ deployId: await newDeploy('two'), app: 'two', sha: 'b'.repeat(40), trigger: 'git' });
    assert.deepEqual(await a.done, { ok: true, version: 1 });
    assert.deepEqual(await b.done, { ok: false, status: 'failed', error: 'the build broke' });
    assert.equal(maxRunning, 1);
    assert.deepEqual(order, [a.deployId, b.deployId]);
    assert.equal((await status(a.deployId)).status, 'success');
    const failed = await status(b.deployId);
    assert.equal(failed.status, 'failed');
    assert.match(failed.log, /Deploy failed: the build broke/);
  });

  test('a newer deploy of an app supersedes its waiting one; waiting deploys hear their position', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const ran: number[] = [];
    const q = new DeployQueue(opened.db, createLogger('silent'), async (job) => {
      if (ran.length === 0) await gate;
      ran.push(job.deployId);
      return { version: ran.length };
    });
    const busy = q.enqueue({ deployId: await newDeploy('one'), app: 'one', sha: 'a'.repeat(40), trigger: 'git' });
    const older = q.enqueue({ deployId: await newDeploy('two'), app: 'two', sha: 'b'.repeat(40), trigger: 'git' });
    const heard: string[] = [];
    older.output.subscribe((l) => heard.push(l));
    assert.ok(heard.some((l) => /Queued: 1 deploy ahead of this one/.test(l)), heard.join('\n'));
    const newer = q.enqueue({ deployId: await newDeploy('two', 'c'.repeat(40)), app: 'two', sha: 'c'.repeat(40), trigger: 'git' });
    assert.deepEqual(await older.done, { ok: false, status: 'superseded', error: `superseded by deploy #${newer.deployId}` });
    assert.ok(heard.some((l) => /Superseded by a newer deploy/.test(l)));
    release();
    await busy.done;
    assert.equal((await newer.done).ok, true);
    assert.deepEqual(ran, [busy.deployId, newer.deployId], 'the superseded deploy never ran');
    assert.equal((await status(older.deployId)).status, 'superseded');
  });

  test('the pusher\'s answer comes when the release is live; the deploy, and the next one, wait for what follows', async () => {
    let finishTail!: () => void;
    const tail = new Promise<void>((r) => { finishTail = r; });
    const events: string[] = [];
    const q = new DeployQueue(opened.db, createLogger('silent'), async (job) => {
      events.push(`start ${job.app}`);
      if (job.app === 'two') throw new HiyError('build_failed', 'no Dockerfile');
      job.output.step('Live at https://one.pi.example');
      job.live?.(7);
      await tail;
      job.output.detail('old release stopped');
      events.push(`end ${job.app}`);
      return { version: 7 };
    });
    const first = q.enqueue({ deployId: await newDeploy('one'), app: 'one', sha: 'a'.repeat(40), trigger: 'git' });
    const second = q.enqueue({ deployId: await newDeploy('two'), app: 'two', sha: 'b'.repeat(40), trigger: 'git' });
    assert.deepEqual(await first.answer, { ok: true, version: 7 });
    assert.equal((await status(first.deployId)).status, 'building', 'still draining');
    assert.deepEqual(events, ['start one'], 'the next deploy waits for the drain');
    finishTail();
    assert.deepEqual(await first.done, { ok: true, version: 7 });
    const row = await status(first.deployId);
    assert.equal(row.status, 'success');
    assert.match(row.log, /Live at[^]*old release stopped/, 'what followed the answer is in the deploy log');
    assert.deepEqual(await second.answer, { ok: false, status: 'failed', error: 'no Dockerfile' }, 'a deploy that never went live answers with its failure');
    assert.deepEqual(events, ['start one', 'end one', 'start two']);
  });

  test('a crash of the runner is recorded as a failure with a generic message, not the internals', async () => {
    const q = new DeployQueue(opened.db, createLogger('silent'), async () => { throw new Error('ENOENT /var/lib/secret/path'); });
    const d = q.enqueue({ deployId: await newDeploy('one'), app: 'one', sha: 'a'.repeat(40), trigger: 'git' });
    const r = await d.done;
    assert.equal(r.ok, false);
    const row = await status(d.deployId);
    assert.equal(row.status, 'failed');
    assert.doesNotMatch(`${row.error} ${row.log}`, /secret\/path/);
  });
});
