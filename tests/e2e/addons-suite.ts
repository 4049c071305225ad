/**
 * Data services end to end (shared by addons.test.ts and addons-ops.test.ts), with the real
 * engine, Caddy and git, carried through one app: a Node app using `pg` from npm, whose Procfile's release command migrates, on a Postgres add-on and a
 * Redis add-on (stand-ins of the official images: tests/helpers/debian-images.ts). Its rows and
 * its counter survive deploys, a rollback, add-on restarts, a restart and a kill -9 of hiy (whose
 * start-up reconciliation brings back a stopped add-on, its networks and the app's env), dumps and
 * restores, an in-place minor upgrade, and a backup taken while the app writes followed by the loss
 * of everything and a restore. Another app's container cannot reach the add-ons; hostile names are
 * refused; the password shows in no log, no API answer unless revealed, no process list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { apiClient, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker, testRun } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { findRootCert } from '../../harness/app-http.js';
import { DEBIAN_NODE_IMAGE, ensureDebianNodeImage, ensurePostgresImage, ensureRedisImage, POSTGRES_IMAGE } from '../helpers/debian-images.js';
import { killProcessesMentioning } from '../helpers/processes.js';

const tag = randomBytes(3).toString('hex');
const APP = `ad-${tag}`;
const OTHER = `ad-${tag}-x`;
const PG = `ad-${tag}-db`;
const RD = `ad-${tag}-kv`;
const run = testRun();
// HIY_IMAGE_POSTGRES points at a tag of this run's own: moving it is how a new image "arrives".
const PG_TAG = `hiy-test/pg-${tag}:17`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result { code: number; stdout: string; stderr: string }

/**
 * The whole story runs longer than one test file's 10 minutes on a loaded machine, so it is cut in
 * two files that each set up the same app and add-ons: `core` (addons.test.ts: names, deploys,
 * restarts, crashes, isolation, dumps, destroy) and `ops` (addons-ops.test.ts: upgrade, incident,
 * backup and restore). Both check the passwords leaked nowhere.
 */
export function addonsSuite(part: 'core' | 'ops'): void {
describe(`add-ons: Postgres and Redis attached to an app, end to end (${part})`, { timeout: 600_000 }, () => {
  /** A test of this part (or of both). */
  const step = (of: 'core' | 'ops' | 'both', name: string, fn: () => Promise<void>) => { if (of === 'both' || of === part) test(name, fn); };
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let work: string;
  const outputs: string[] = [];
  const psLines = new Set<string>();
  let psTimer: NodeJS.Timeout | undefined;
  const secrets: string[] = [];

  const api = () => apiClient(hiy);
  const env = () => ({ PATH: process.env.PATH ?? '', HOME: work, HIY_URL: hiy.url, HIY_TOKEN: hiy.token });
  /** `hiy <args>`; what it prints is kept for the leak check unless it was asked to reveal. */
  const cli = (args: string[], io: { stdin?: string; stdout?: string } = {}) => new Promise<Result>((resolve) => {
    const inFd = io.stdin ? openSync(io.stdin, 'r') : 'ignore';
    const outFd = io.stdout ? openSync(io.stdout, 'w') : 'pipe';
    const p = spawn(process.execPath, [hiyEntry(), ...args], { env: { ...env(), ...(args[0] === 'backup' || args[0] === 'restore' ? hiy.env : {}) }, stdio: [inFd, outFd, 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => {
      if (typeof inFd === 'number') closeSync(inFd);
      if (typeof outFd === 'number') closeSync(outFd);
      if (!args.includes('--reveal')) outputs.push(stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  const ok = async (...args: string[]) => {
    const t0 = Date.now();
    const r = await cli(args);
    if (process.env.HIY_TEST_TIMING) console.log(`TIMING hiy ${args.join(' ')}: ${Date.now() - t0} ms`);
    assert.equal(r.code, 0, `hiy ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** A request to the app through Caddy (https, Caddy's local CA). */
  const call = (method: string, path: string) => new Promise<{ status: number; body: string }>((resolve) => {
    const port = hiy.env.HIY_HTTPS_PORT!;
    const ca = findRootCert(hiy.dataDir) ?? '';
    execFile('curl', ['-sS', '--max-time', '15', '--cacert', ca, '-X', method, '--resolve', `${APP}.localhost:${port}:127.0.0.1`, '-w', '\n%{http_code}', `https://${APP}.localhost:${port}${path}`], (_e, stdout) => {
      const s = String(stdout);
      const i = s.lastIndexOf('\n');
      resolve({ status: Number(s.slice(i + 1)), body: s.slice(0, i) });
    });
  });
  /** Retries while the app (or its database connection) comes back. */
  const until = async (method: string, path: string, want = 200, ms = 60_000) => {
    const t0 = Date.now();
    try { return await until1(method, path, want, ms); } finally { if (process.env.HIY_TEST_TIMING && Date.now() - t0 > 1000) console.log(`TIMING until ${method} ${path}: ${Date.now() - t0} ms`); }
  };
  const until1 = async (method: string, path: string, want: number, ms: number) => {
    const deadline = Date.now() + ms;
    let last = { status: 0, body: '' };
    while (Date.now() < deadline) {
      last = await call(method, path);
      if (last.status === want) return last.body;
      await sleep(300);
    }
    throw new Error(`${method} ${path}: never ${want}, last ${JSON.stringify(last)}`);
  };
  const rowCount = async () => (JSON.parse(await until('GET', '/rows')) as { count: number }).count;
  const counter = async () => Number(await until('GET', '/count'));
  const waitDeploy = async (id: number) => {
    const t0 = Date.now();
    try { return await waitDeploy1(id); } finally { if (process.env.HIY_TEST_TIMING) console.log(`TIMING deploy ${id}: ${Date.now() - t0} ms`); }
  };
  const waitDeploy1 = async (id: number) => {
    for (let i = 0; i < 1200; i++) {
      const d = (await api()('GET', `/apps/${APP}/deploys/${id}`)).body.deploy as { status: string; log: string; error: string | null };
      if (d.status === 'success') return d;
      if (d.status === 'failed' || d.status === 'superseded') assert.fail(`deploy ${id}: ${d.status} ${d.error}\n${d.log}`);
      await sleep(250);
    }
    throw new Error(`deploy ${id} did not finish`);
  };
  const lastDeployId = async () => ((await api()('GET', `/apps/${APP}/deploys?limit=1`)).body.deploys[0] as { id: number }).id;
  const containerOf = async (addon: string) => (await docker(['inspect', '--format', '{{.Id}} {{.State.Status}}', `hiy-addon.${addon}`])).stdout.trim();
  const webContainer = async (app: string) => (await docker(['ps', '-q', '--filter', `label=hiy.app=${app}`, '--filter', 'label=hiy.process=web'])).stdout.trim().split('\n')[0]!;
  const restartHiy = async (how: 'SIGTERM' | 'SIGKILL') => {
    outputs.push(hiy.output());
    if (how === 'SIGKILL') {
      hiy.proc.kill('SIGKILL');
      await new Promise((r) => hiy.proc.once('exit', r));
    } else {
      await stopKeeping(hiy);
    }
    hiy = await startHiy({ dataDir: hiy.dataDir, keepDataDir: true, env: hiy.env, startTimeoutMs: 60_000 });
  };
  const stopKeeping = async (h: HiyProcess) => {
    h.proc.kill('SIGTERM');
    await new Promise((r) => h.proc.once('exit', r));
  };

  before(async () => {
    await ensureDocker();
    await Promise.all([ensurePostgresImage(), ensureRedisImage(), ensureDebianNodeImage(), ensureBusyboxImage()]);
    assert.equal((await docker(['tag', POSTGRES_IMAGE, PG_TAG])).code, 0);
    work = mkdtempSync(join(tmpdir(), 'hiy-addons-test-'));
    psTimer = setInterval(() => {
      execFile('ps', ['-eo', 'args'], { maxBuffer: 8 << 20 }, (_e, out) => { for (const l of String(out).split('\n')) if (psLines.size < 200_000) psLines.add(l); });
    }, 400);
    hiy = await startHiy({
      keepDataDir: true,
      startTimeoutMs: 60_000,
      env: { HIY_IMAGE_NODE: DEBIAN_NODE_IMAGE, HIY_IMAGE_STATIC: BUSYBOX_IMAGE, HIY_IMAGE_POSTGRES: PG_TAG, HIY_ALERT_HEALTH_AFTER: '3', HIY_ALERT_CHECK_INTERVAL: '1' },
    });
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'addons-app'));
    assert.equal((await api()('POST', '/apps', { name: APP, health_timeout_s: 60, drain_s: 2 })).status, 201);
  });

  after(async () => {
    if (psTimer) clearInterval(psTimer);
    if (hiy) {
      await stopKeeping(hiy).catch(() => undefined);
      killProcessesMentioning(hiy.dataDir);
      await removeDataDir(hiy.dataDir);
    }
    wc?.remove();
    for (const app of [APP, OTHER]) await cleanupByLabel(`hiy.app=${app}`);
    for (const addon of [PG, RD]) await cleanupByLabel(`hiy.addon=${addon}`);
    const volumes = (await docker(['volume', 'ls', '-q', '--filter', `label=hiy.addon`])).stdout.split('\n').filter((v) => v.startsWith(`hiy-addon.ad-${tag}`));
    if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
    await docker(['volume', 'rm', '-f', `hiy-${APP}-data`]);
    await cleanupByLabel(run.label);
    await docker(['rmi', PG_TAG]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  step('core', 'hostile add-on names and --as values are refused before anything is made', async () => {
    for (const name of ['../etc', 'a;rm -rf /', 'Upper', 'hiy-db', 'localhost', 'x'.repeat(41), 'a--b', '-a', 'a_b', '$(id)', 'db\n']) {
      const r = await cli(['addons:create', APP, 'postgres', `--name=${name}`]);
      assert.notEqual(r.code, 0, `--name ${JSON.stringify(name)} was accepted`);
      assert.match(r.stderr, /add-on name|reserved/, name);
    }
    for (const as of ['A=B', 'a b', '1ABC', '$(id)', 'X'.repeat(50), 'FOO-BAR', '_X']) {
      const r = await cli(['addons:create', APP, 'redis', '--name', RD, `--as=${as}`]);
      assert.notEqual(r.code, 0, `--as ${JSON.stringify(as)} was accepted`);
      assert.match(r.stderr, /--as|set by hiy/, as);
    }
    assert.equal((await api()('POST', '/addons', { kind: 'mysql', app: APP })).status, 400);
    assert.equal((await api()('POST', '/addons', { kind: 'postgres', name: PG, memory_mb: 4 })).status, 400);
    assert.deepEqual((await api()('GET', '/addons')).body, { addons: [] });
    assert.equal((await docker(['ps', '-aq', '--filter', 'label=hiy.addon', '--filter', `label=hiy.instance=${readFileSync(join(hiy.dataDir, 'instance-id'), 'utf8').trim()}`])).stdout.trim(), '');
  });

  step('both', 'Postgres and Redis add-ons, attached; the release command migrates; the URLs are managed', async () => {
    assert.match(await ok('addons:create', APP, 'postgres', '--name', PG), new RegExp(`Created ${PG} \\(postgres [0-9.]+\\), attached to ${APP} as DATABASE_URL`));
    assert.match(await ok('addons:create', APP, 'redis', '--name', RD), new RegExp(`attached to ${APP} as REDIS_URL`));
    for (const addon of [PG, RD]) {
      const url = (JSON.parse(await ok('addons:info', addon, '--reveal', '--json')) as { addon: { url: string } }).addon.url;
      secrets.push(decodeURIComponent(new URL(url).password));
    }
    assert.ok(secrets.every((s) => s.length >= 24), 'passwords are long and random');
    const list = await ok('addons', APP);
    assert.match(list, new RegExp(`${PG}\\s+postgres\\s+\\S+\\s+running\\s+\\S+ \\S+\\s+${APP} \\(DATABASE_URL\\)`));
    assert.match(list, new RegExp(`${RD}\\s+redis\\s+\\S+\\s+running`));
    const envOut = await ok('env', APP);
    assert.match(envOut, new RegExp(`DATABASE_URL:\\s+\\*\\*\\*\\*\\s+\\(managed: add-on ${PG}\\)`));
    const set = await cli(['env:set', APP, 'DATABASE_URL=postgres://evil']);
    assert.equal(set.code, 1);
    assert.match(set.stderr, /DATABASE_URL is managed by hiy/);
    assert.match((await cli(['env:unset', APP, 'REDIS_URL'])).stderr, /REDIS_URL is managed by hiy/);

    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /Running the release command: node migrate\.js[\s\S]*migrated \(version v1\)/);
    assert.equal(await until('GET', '/'), 'ok v1');
    for (let i = 1; i <= 3; i++) assert.equal(await until('POST', `/rows?body=row-${i}`, 201), JSON.stringify({ id: i }));
    for (let i = 1; i <= 3; i++) assert.equal(await until('POST', '/count'), String(i));
  });

  step('core', 'rows and the counter survive a deploy, a rollback and restarts of the add-ons', async () => {
    wc.write('version.txt', 'v2\n');
    await wc.commit('v2');
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    assert.equal(await until('GET', '/'), 'ok v2');
    assert.equal(await until('GET', '/migrations'), JSON.stringify(['v1', 'v2']));
    assert.equal(await rowCount(), 3);
    assert.equal(await counter(), 3);
    assert.match(await ok('rollback', APP), /v1/);
    await waitDeploy(await lastDeployId());
    assert.equal(await until('GET', '/'), 'ok v1');
    assert.equal(await rowCount(), 3);
    assert.equal(await counter(), 3);
    const pgBefore = await containerOf(PG);
    assert.match(await ok('addons:restart', PG), /Restarted/);
    assert.match(await ok('addons:restart', RD), /Restarted/);
    assert.equal(await containerOf(PG), pgBefore, 'a restart keeps the container and its data');
    assert.equal(await rowCount(), 3);
    assert.equal(await counter(), 3);
  });

  step('core', 'a restart and a kill -9 of hiy: reconciliation brings a stopped add-on, its network and the app\'s env back', async () => {
    const before = await containerOf(PG);
    await restartHiy('SIGTERM');
    assert.equal(await containerOf(PG), before, 'hiy\'s restart leaves the add-ons running');
    assert.equal(await rowCount(), 3);
    // While hiy is down: the database stops, leaves the app's network, and a detach is recorded
    // whose restart never ran (a crash right after it).
    hiy.proc.kill('SIGKILL');
    await new Promise((r) => hiy.proc.once('exit', r));
    assert.equal((await docker(['stop', `hiy-addon.${PG}`])).code, 0);
    assert.equal((await docker(['network', 'disconnect', `hiy-${APP}`, `hiy-addon.${PG}`])).code, 0);
    const db = new Database(join(hiy.dataDir, 'hiy.db'));
    db.prepare('DELETE FROM addon_attachments WHERE addon = ?').run(RD);
    db.close();
    hiy = await startHiy({ dataDir: hiy.dataDir, keepDataDir: true, env: hiy.env, startTimeoutMs: 60_000 });
    assert.match(await containerOf(PG), / running$/);
    assert.equal(await rowCount(), 3);
    // The app is restarted without REDIS_URL; the add-on then leaves its network.
    await waitDeploy(await lastDeployId());
    const web = await webContainer(APP);
    assert.notEqual((await docker(['exec', web, 'printenv', 'REDIS_URL'])).code, 0, 'the app\'s env follows the attachments');
    assert.match((await docker(['exec', web, 'printenv', 'DATABASE_URL'])).stdout, new RegExp(`@${PG}:5432/`));
    assert.equal((await call('GET', '/count')).status, 503);
    assert.match(await ok('addons:attach', RD, APP), /as REDIS_URL; restarting/);
    const restart = (await api()('GET', `/apps/${APP}/deploys?limit=1`)).body.deploys[0] as { id: number; triggered_by: string };
    assert.equal(restart.triggered_by, 'cli', 'the restart of an attachment is recorded as the CLI\'s');
    await waitDeploy(restart.id);
    assert.equal(await counter(), 3);
  });

  step('core', 'another app\'s container cannot reach the add-ons; the attached app can', async () => {
    const other = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'static-site'));
    try {
      assert.equal((await api()('POST', '/apps', { name: OTHER, port: 8080 })).status, 201);
      const push = await other.push(remoteUrl(hiy.url, OTHER, hiy.token));
      assert.equal(push.code, 0, push.stderr);
    } finally {
      other.remove();
    }
    const ips = JSON.parse((await docker(['inspect', '--format', '{{json .NetworkSettings.Networks}}', `hiy-addon.${PG}`])).stdout) as Record<string, { IPAddress: string }>;
    assert.deepEqual(Object.keys(ips).sort(), [`hiy-${APP}`, `hiy-addon.${PG}`].sort(), 'the add-on is on its own network and its app\'s, no other');
    for (const addon of [PG, RD]) {
      // Every process of the add-on's container (its server, its workers, this exec): no capabilities, not root.
      const status = (await docker(['exec', `hiy-addon.${addon}`, 'sh', '-c', 'cat /proc/[0-9]*/status'])).stdout;
      const field = (name: string) => [...status.matchAll(new RegExp(`^${name}:\\s+(.*)$`, 'gm'))].map((m) => m[1]!.trim());
      assert.ok(field('CapEff').length >= 2, `${addon}: no process status read`);
      for (const cap of ['CapEff', 'CapPrm', 'CapBnd']) assert.deepEqual([...new Set(field(cap))], ['0000000000000000'], `${addon}: ${cap}`);
      assert.deepEqual([...new Set(field('Uid').map((u) => u.split(/\s+/)[0]))], ['999'], `${addon} runs as its image's non-root user`);
      assert.deepEqual([...new Set(field('NoNewPrivs'))], ['1']);
      const host = JSON.parse((await docker(['inspect', '--format', '{{json .HostConfig}}', `hiy-addon.${addon}`])).stdout) as { ReadonlyRootfs: boolean; PortBindings: Record<string, unknown> | null; Privileged: boolean };
      assert.equal(host.ReadonlyRootfs, true);
      assert.equal(host.Privileged, false);
      assert.deepEqual(host.PortBindings ?? {}, {}, 'no host port');
    }
    const mine = await webContainer(APP);
    assert.equal((await docker(['exec', mine, 'bash', '-c', `exec 3<>/dev/tcp/${PG}/5432 && echo open`])).stdout.trim(), 'open', 'the attached app reaches it by name');
    const theirs = await webContainer(OTHER);
    for (const target of [PG, ...Object.values(ips).map((n) => n.IPAddress)]) {
      const r = await docker(['exec', theirs, 'sh', '-c', `nc -w 3 ${target} 5432 </dev/null && echo open || echo closed`]);
      assert.equal(r.stdout.trim(), 'closed', `${OTHER} reached ${target}:5432 (${r.stderr.trim()})`);
    }
  });

  step('core', 'dump and restore: Postgres with pg_dump -Fc / pg_restore, Redis with RDB; a wrong file changes nothing', async () => {
    const pgDump = join(work, 'db.pgdump');
    const rdDump = join(work, 'kv.rdb');
    const d = await cli(['addons:dump', PG], { stdout: pgDump });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(readFileSync(pgDump).subarray(0, 5).toString(), 'PGDMP');
    assert.equal((await cli(['addons:dump', RD], { stdout: rdDump })).code, 0);
    assert.equal(readFileSync(rdDump).subarray(0, 5).toString(), 'REDIS');
    await until('POST', '/rows?body=after-dump', 201);
    await until('POST', '/count');
    assert.equal(await rowCount(), 4);
    const garbage = join(work, 'garbage');
    writeFileSync(garbage, randomBytes(4096));
    for (const [addon, file] of [[PG, garbage], [PG, rdDump], [RD, garbage], [RD, pgDump]] as const) {
      const r = await cli(['addons:restore', addon], { stdin: file });
      assert.equal(r.code, 1, `${addon} < ${file}: ${r.stdout}`);
      assert.match(r.stderr, /nothing was changed/);
    }
    assert.equal(await rowCount(), 4);
    assert.equal(await counter(), 4);
    assert.match((await cli(['addons:restore', PG], { stdin: pgDump })).stdout, /Restored .*pg_restore/);
    assert.match((await cli(['addons:restore', RD], { stdin: rdDump })).stdout, /Restored .*1 key/);
    assert.equal(await rowCount(), 3);
    assert.equal(await counter(), 3);
  });

  step('ops', 'upgrade: a newer image of the same major replaces the container in place; a new major is refused with the way to move', async () => {
    assert.match(await ok('addons:upgrade', PG), /already runs/);
    const build = async (lines: string[]) => {
      const dir = mkdtempSync(join(work, 'img-'));
      writeFileSync(join(dir, 'Dockerfile'), [`FROM ${POSTGRES_IMAGE}`, ...lines, ''].join('\n'));
      const r = await docker(['build', '-q', '--label', run.label, '--label', 'hiy.test=1', '-t', PG_TAG, dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(r.code, 0, r.stderr);
    };
    await build([`LABEL hiy.test.minor=${tag}`]);
    const minor = (await docker(['image', 'inspect', '--format', '{{.Id}}', PG_TAG])).stdout.trim();
    const before = await containerOf(PG);
    assert.match(await ok('addons:upgrade', PG), /upgraded from PostgreSQL [0-9.]+ to [0-9.]+/);
    assert.notEqual(await containerOf(PG), before);
    assert.equal(await rowCount(), 3, 'the data stays through an in-place upgrade');
    // An image that says it is PostgreSQL 16: the data (15) cannot move in place.
    await build(['RUN mkdir /shim && printf \'#!/bin/sh\\n[ "$1" = --version ] && exec echo "postgres (PostgreSQL) 16.4"\\nexec /usr/lib/postgresql/15/bin/postgres "$@"\\n\' > /shim/postgres && chmod 755 /shim/postgres', 'ENV PATH=/shim:$PATH']);
    const upgraded = await containerOf(PG);
    const r = await cli(['addons:upgrade', PG]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PostgreSQL 15 data and .* runs PostgreSQL 16/);
    assert.match(r.stderr, new RegExp(`hiy addons:dump ${PG} > ${PG}\\.pgdump[\\s\\S]*hiy addons:create ${APP} postgres[\\s\\S]*hiy addons:restore`));
    assert.equal(await containerOf(PG), upgraded, 'a refused upgrade touches nothing');
    assert.equal(await rowCount(), 3);
    assert.equal((await docker(['tag', minor, PG_TAG])).code, 0);
  });

  step('ops', 'an add-on that stops is an incident until it answers again; its memory is in the metrics', async () => {
    assert.equal((await docker(['stop', `hiy-addon.${RD}`])).code, 0);
    const incident = async (open: boolean) => {
      for (let i = 0; i < 80; i++) {
        const alerts = (await api()('GET', '/alerts')).body.alerts as { kind: string; open: boolean; message: string }[];
        const a = alerts.find((x) => x.kind === 'addon' && x.message.includes(RD));
        if (a && a.open === open) return a;
        await sleep(250);
      }
      assert.fail(`no ${open ? 'open' : 'resolved'} incident for ${RD}`);
    };
    assert.match((await incident(true)).message, new RegExp(`add-on ${RD} is down: its container is exited`));
    await ok('addons:restart', RD);
    await incident(false);
    // `current` is the sampler's last tick (every 10 s), of the containers the last health probe
    // found: right after the upgrade replaced the database's container it may not be in one yet.
    let m: { current: { memory_bytes: number } | null; series: { memory_bytes: number[] } } | undefined;
    for (let i = 0; i < 60 && !m?.current; i++) {
      if (i > 0) await sleep(500);
      m = (await api()('GET', `/addons/${PG}/metrics`)).body as typeof m;
    }
    assert.ok(m?.current && m.current.memory_bytes > 1_000_000, JSON.stringify(m));
  });

  step('ops', 'a backup taken while the app writes, then everything is lost: hiy restore brings the add-ons, their data and attachments back', async () => {
    const age = await import('age-encryption');
    const identity = await age.generateX25519Identity();
    const keyFile = join(work, 'backup-key.txt');
    writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
    const backupEnv = { HIY_BACKUP_DIR: join(work, 'backups'), HIY_BACKUP_RECIPIENT: await age.identityToRecipient(identity), HIY_BACKUP_INCLUDE_IDENTITY: '1' };
    const acked: number[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const r = await call('POST', `/rows?body=w${acked.length}`);
        if (r.status === 201) acked.push((JSON.parse(r.body) as { id: number }).id);
      }
    })();
    await sleep(1000);
    const beforeBackup = acked.length;
    const backup = await new Promise<Result>((resolve) => {
      const p = spawn(process.execPath, [hiyEntry(), 'backup'], { env: { PATH: process.env.PATH ?? '', HOME: work, ...hiy.env, ...backupEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
      p.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    outputs.push(backup.stdout, backup.stderr);
    const ackedBefore = acked.slice(0, beforeBackup);
    await sleep(500);
    writing = false;
    await writer;
    assert.equal(backup.code, 0, backup.stderr + backup.stdout);
    assert.match(backup.stdout, new RegExp(`add-on ${PG}: pg_dump`));
    assert.match(backup.stdout, new RegExp(`add-on ${RD}: redis-cli`));
    assert.ok(acked.length > beforeBackup, 'the app kept writing during the backup');
    const file = /Backup written: (\S+)/.exec(backup.stdout)?.[1] ?? assert.fail(backup.stdout);
    // The operator keeps the signing key a backup prints: the disaster takes the server's copy.
    const signer = /Signed with: (ed25519:\S+)/.exec(backup.stdout)?.[1] ?? assert.fail(backup.stdout);

    // Everything goes: hiy, its data dir, every container, network and volume it made.
    const old = hiy;
    const instance = readFileSync(join(old.dataDir, 'instance-id'), 'utf8').trim();
    outputs.push(old.output());
    await stopKeeping(old);
    const ids = (await docker(['ps', '-aq', '--filter', `label=hiy.instance=${instance}`])).stdout.split('\n').filter(Boolean);
    await docker(['rm', '-f', ...ids]);
    for (const n of (await docker(['network', 'ls', '-q', '--filter', `label=hiy.instance=${instance}`])).stdout.split('\n').filter(Boolean)) await docker(['network', 'rm', n]);
    assert.equal((await docker(['volume', 'rm', `hiy-addon.${PG}`, `hiy-addon.${RD}`])).code, 0);
    rmSync(old.dataDir, { recursive: true, force: true });

    const restored = await new Promise<Result>((resolve) => {
      const p = spawn(process.execPath, [hiyEntry(), 'restore', file, '--key', keyFile, '--signer', signer], { env: { PATH: process.env.PATH ?? '', HOME: work, ...old.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
      p.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    outputs.push(restored.stdout, restored.stderr);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    assert.match(restored.stdout, new RegExp(`add-on ${PG}: restored with pg_restore.*attached to ${APP}`));
    hiy = await startHiy({ dataDir: old.dataDir, keepDataDir: true, env: old.env, startTimeoutMs: 60_000 });
    const rows = (JSON.parse(await until('GET', '/rows', 200, 90_000)) as { rows: { id: number }[] }).rows.map((r) => r.id);
    for (const id of ackedBefore) assert.ok(rows.includes(id), `row ${id}, written before the backup began, is back`);
    // One consistent snapshot: the rows up to some point, none missing in between.
    assert.deepEqual(rows, Array.from({ length: rows.length }, (_, i) => i + 1), 'the rows come back as one snapshot');
    assert.equal(await counter(), 3);
    assert.match(await ok('env', APP), new RegExp(`DATABASE_URL:\\s+\\*\\*\\*\\*\\s+\\(managed: add-on ${PG}\\)`));
    await until('POST', '/rows?body=after-restore', 201);
  });

  step('both', 'the passwords appear in no log, no process list and no API answer unless revealed', async () => {
    const answers = [
      (await api()('GET', '/addons')).body,
      (await api()('GET', `/addons/${PG}`)).body,
      (await api()('GET', `/apps/${APP}/env`)).body,
      (await api()('GET', `/apps/${APP}/env/DATABASE_URL`)).body,
      (await api()('GET', `/apps/${APP}/addons`)).body,
      (await api()('GET', '/system')).body,
    ];
    const deploys = (await api()('GET', `/apps/${APP}/deploys?limit=50`)).body.deploys as { id: number }[];
    for (const d of deploys) answers.push((await api()('GET', `/apps/${APP}/deploys/${d.id}`)).body);
    answers.push((await api()('GET', `/apps/${APP}/logs?lines=5000`)).body);
    const logs = [...outputs, hiy.output(), ...(await Promise.all([PG, RD].map(async (a) => { const r = await docker(['logs', `hiy-addon.${a}`]); return r.stdout + r.stderr; })))];
    const haystacks: [string, string][] = [
      ['API answers', JSON.stringify(answers)],
      ['logs and CLI output', logs.join('\n')],
      ['process list', [...psLines].join('\n')],
    ];
    assert.ok(psLines.size > 50 && [...psLines].some((l) => l.includes('postgres')), 'the process list was sampled while the add-ons ran');
    for (const s of secrets) {
      for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]) {
        for (const [where, text] of haystacks) assert.ok(!text.includes(form), `a password appears in the ${where}`);
      }
    }
    const revealed = JSON.stringify((await api()('GET', `/apps/${APP}/env?reveal=true`)).body);
    assert.ok(secrets.every((s) => revealed.includes(encodeURIComponent(s))), 'revealed on request');
  });

  step('core', 'destroy is refused while attached; with --detach the app restarts without it and the data goes', async () => {
    const r = await cli(['addons:destroy', RD, '--confirm', RD]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`attached to ${APP} \\(REDIS_URL\\)`));
    assert.match(await ok('addons:destroy', RD, '--confirm', RD, '--detach'), new RegExp(`Destroyed ${RD} and its data \\(detached from ${APP}\\)`));
    await waitDeploy(await lastDeployId());
    assert.notEqual((await docker(['volume', 'inspect', `hiy-addon.${RD}`])).code, 0, 'its volume is gone');
    assert.notEqual((await docker(['exec', await webContainer(APP), 'printenv', 'REDIS_URL'])).code, 0);
    assert.equal(await rowCount(), 3, 'the Postgres add-on, still attached, keeps its rows');
  });
});
}
