/**
 * Cron jobs from app.json end to end, with seconds in their schedules to keep it short: a real
 * hiy, `git push`, the real engine. A job runs on time, never overlaps itself (the skip is
 * recorded), survives a deploy (the new release's image runs the next time) and a hiy restart
 * (times that passed while hiy was down are recorded as missed, not caught up), and stops once
 * app.json no longer lists it, and all of an app's jobs stop when it is destroyed. A bad schedule fails the push, naming the line and why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { apiClient, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import type { CronJobView, RunDetail } from '../../src/contract.js';
import { waitFor as until } from '../helpers/observe.js';

const APP = `cron-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every 3 s, running 4 s: every other time finds the previous run still going. */
const SLOW = { command: 'sh -c \'echo "tick $(cat /www/version.txt)"; sleep 4\'', schedule: '*/3 * * * * *' };
/** Every 5 s: a one-off container takes 1-3 s from create to removal on a busy Pi-class box, so it ends in time. */
const FAST = { command: 'echo fast', schedule: '*/5 * * * * *' };
const FAST_MS = 5000;


describe('cron jobs from app.json', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  let slowId: string;
  let fastId: string;

  const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
  const cronRuns = async (job?: string): Promise<RunDetail[]> => (await api('GET', `/apps/${APP}/cron/runs?limit=200${job ? `&job=${job}` : ''}`)).body.runs;
  const push = async (jobs: object[], version: string) => {
    wc.write('app.json', `${JSON.stringify({ name: APP, cron: jobs }, null, 2)}\n`);
    wc.write('www/version.txt', `${version}\n`);
    await wc.commit(version);
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    return { at: new Date().toISOString(), release: (await api('GET', `/apps/${APP}`)).body.app.current_release.version as number };
  };

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy({ keepDataDir: true, env: { HIY_TZ: 'UTC' } });
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080 })).status, 201);
  });

  after(async () => {
    await hiy?.stop();
    if (hiy) await removeDataDir(hiy.dataDir);
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('a bad schedule fails the push, naming app.json\'s line and why; nothing is released', async () => {
    wc.write('app.json', '{\n  "cron": [\n    {\n      "command": "echo hi",\n      "schedule": "*/61 * * * *"\n    }\n  ]\n}\n');
    await wc.commit('bad schedule');
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /app\.json line 5: cron entry 1: "\*\/61 \* \* \* \*" is not a valid schedule: .*steps cannot be greater/);
    assert.equal((await api('GET', `/apps/${APP}`)).body.app.current_release, null);
  });

  test('jobs run on time and never overlap themselves; a skip is recorded', async () => {
    const v1 = await push([SLOW, FAST], 'v1');
    const jobs = (await api('GET', `/apps/${APP}/cron`)).body.jobs as CronJobView[];
    slowId = jobs.find((j) => j.command === SLOW.command)!.id;
    fastId = jobs.find((j) => j.command === FAST.command)!.id;
    assert.ok(slowId && fastId, JSON.stringify(jobs));
    await until('two finished runs and a skip of the slow job', async () => {
      const runs = await cronRuns(slowId);
      return runs.filter((r) => r.status === 'exited').length >= 2 && runs.some((r) => r.status === 'skipped');
    });
    const runs = (await cronRuns(slowId)).reverse();
    const ran = runs.filter((r) => r.status === 'exited');
    for (const r of ran) {
      assert.equal(r.exit_code, 0, JSON.stringify(r));
      assert.equal(r.release, v1.release);
      assert.equal(r.output, 'tick v1\n');
      const late = Date.parse(r.started_at) - Date.parse(r.scheduled_at!);
      assert.ok(late >= 0 && late < 2500, `run #${r.id} started ${late} ms after its time`);
      assert.equal(new Date(r.scheduled_at!).getUTCSeconds() % 3, 0, 'due on the schedule');
    }
    for (let i = 1; i < ran.length; i++) {
      assert.ok(Date.parse(ran[i]!.started_at) >= Date.parse(ran[i - 1]!.finished_at!), `run #${ran[i]!.id} started before #${ran[i - 1]!.id} ended`);
    }
    const skip = runs.find((r) => r.status === 'skipped')!;
    assert.match(skip.reason!, /^the previous run \(#\d+\) was still running$/);
    await until('a finished run of the fast job', async () => (await cronRuns(fastId)).some((r) => r.status === 'exited' && r.output === 'fast\n'));

    const listed = await cli('cron', APP);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${slowId}\\s+\\*/3 \\* \\* \\* \\* \\*\\s+sh -c`));
    assert.match(listed.stdout, /Times are in UTC\./);
    const logs = await cli('cron:logs', APP, fastId, '-n', '50');
    assert.match(logs.stdout, /\| fast/);
  });

  test('cron:run runs a job now, and not while it runs', async () => {
    // The slow job runs most of the time: caught running, a second run is refused.
    await until('the slow job running', async () => ((await api('GET', `/apps/${APP}/cron`)).body.jobs as CronJobView[]).find((j) => j.id === slowId)?.running);
    const refused = await cli('cron:run', APP, slowId);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`cron job ${slowId} of ${APP} is running \\(run #\\d+\\); it never runs twice at once`));
    // The fast one is idle most of the time: asked between its runs, it starts now.
    const now = await until('cron:run accepted between two scheduled runs', async () => {
      const r = await cli('cron:run', APP, fastId, '--json');
      if (r.code === 0) return r;
      assert.match(r.stderr, /is running/);
      return undefined;
    });
    const id = JSON.parse(now.stdout).run.id as number;
    const done = await until('the manual run to end', async () => (await cronRuns(fastId)).find((r) => r.id === id && r.status !== 'running'));
    assert.equal(done.by, 'token admin (HIY_ADMIN_TOKEN) (cron:run)');
    assert.equal(done.scheduled_at, null);
    const missing = await cli('cron:run', APP, 'deadbeef');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cron job "deadbeef" of app .* not found/);
  });

  test('a deploy: the jobs go on, and the new release runs the next time', async () => {
    const v2 = await push([SLOW, FAST], 'v2');
    const next = await until('a run of the new release', async () => (await cronRuns(slowId)).find((r) => r.status === 'exited' && r.release === v2.release));
    assert.equal(next.output, 'tick v2\n');
    const killed = (await cronRuns()).filter((r) => r.status === 'exited' && r.exit_code !== 0);
    assert.deepEqual(killed, [], 'no run was stopped by the deploy');
  });

  test('a hiy restart: times missed while it was down are recorded, not caught up; the jobs run again', async () => {
    const env = hiy.env;
    const dataDir = hiy.dataDir;
    // From the moment it is asked to stop: its scheduler stops first.
    const down = Date.now();
    await hiy.stop();
    await sleep(12_000);
    hiy = await startHiy({ dataDir, keepDataDir: true, env });
    api = apiClient(hiy);
    const up = Date.now();
    const missed = await until('the missed record', async () => (await cronRuns(fastId)).find((r) => r.status === 'missed'));
    assert.match(missed.reason!, /^\d+ runs due from .* passed while hiy was down; not caught up/);
    const count = Number(/^(\d+)/.exec(missed.reason!)![1]);
    // Down for 12 s (and the time to stop and start): at least two times of a 5-s schedule passed.
    assert.ok(count >= 2 && count <= Math.ceil((up - down) / FAST_MS) + 1, `${count} missed in ${up - down} ms down`);
    assert.equal((await cronRuns(fastId)).filter((r) => r.status === 'missed').length, 1, 'one record per job');
    const after = await until('a run after the restart', async () => (await cronRuns(fastId)).find((r) => r.status === 'exited' && Date.parse(r.started_at) > up));
    assert.ok(Date.parse(after.scheduled_at!) > up - 1000, 'the first run after the restart is a new time, not a catch-up');
    const interrupted = (await cronRuns()).filter((r) => r.status === 'interrupted');
    for (const r of interrupted) assert.equal(r.reason, 'hiy stopped while it ran');
  });

  test('a job removed from app.json stops', async () => {
    const v3 = await push([SLOW], 'v3');
    const deployed = Date.parse(v3.at);
    await sleep(FAST_MS + 3000);
    const late = (await cronRuns(fastId)).filter((r) => Date.parse(r.started_at) > deployed + 1000);
    assert.deepEqual(late, [], 'no run of the removed job after the deploy');
    const jobs = (await api('GET', `/apps/${APP}/cron`)).body.jobs as CronJobView[];
    assert.deepEqual(jobs.map((j) => j.id), [slowId]);
    await until('the remaining job to go on', async () => (await cronRuns(slowId)).some((r) => r.release === v3.release && r.status === 'exited'));
    assert.equal((await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`, '--filter', 'label=hiy.process=cron', '--filter', 'status=exited'])).stdout.trim(), '', 'no cron container is left behind');
  });
  test('destroying the app stops its jobs and deletes their history', async () => {
    assert.equal((await api('DELETE', `/apps/${APP}`)).status, 200);
    const gone = Date.now();
    await sleep(7000);
    const left = (await docker(['ps', '-a', '--format', '{{.Names}} {{.CreatedAt}}', '--filter', `label=hiy.app=${APP}`])).stdout.trim();
    assert.equal(left, '', `no container of the app after ${Date.now() - gone} ms`);
    const db = new Database(join(hiy.dataDir, 'hiy.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('select count(*) as n from runs where app = ?').get(APP), { n: 0 });
      assert.deepEqual(db.prepare('select count(*) as n from cron_state where app = ?').get(APP), { n: 0 });
    } finally {
      db.close();
    }
  });
});
