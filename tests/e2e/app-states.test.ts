/**
 * What a Pi owner sees of an app's state, driven by the real CLI against a real hiy, Docker and
 * Caddy: status in `hiy apps` / `hiy info`, maintenance mode (a 503 page over a keep-alive
 * connection Caddy keeps open: no reload), `ps:stop` / `ps:start` of one type or all of them,
 * stopped staying stopped across a restart of hiy and an env change, a restart starting a stopped
 * app (and saying so), and `releases:info`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { apiClient, deployEnded, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { findRootCert } from '../../harness/app-http.js';

const APP = `st-${randomBytes(3).toString('hex')}`;

describe('app status, maintenance mode, ps:stop / ps:start, releases:info', { timeout: 420_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  let agent: Agent;
  let sha: string;

  const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
  const cliOk = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `hiy ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const info = async () => JSON.parse(await cliOk('info', APP, '--json')).app as { status: string; status_note: string | null; stopped: string[]; maintenance: boolean };
  /** Running containers of the app by process type (one-offs aside). */
  const running = async () => {
    const r = await docker(['ps', '--filter', `label=hiy.app=${APP}`, '--format', '{{.Label "hiy.process"}}']);
    return r.stdout.split('\n').filter(Boolean).sort();
  };
  /** GET through Caddy over the test's keep-alive agent: `reused` says the connection survived. */
  const get = (path = '/') => new Promise<{ status: number; body: string; reused: boolean; retryAfter?: string }>((resolve, reject) => {
    const port = Number(hiy.env.HIY_HTTPS_PORT);
    const req = request({ host: '127.0.0.1', port, path, agent, servername: `${APP}.localhost`, headers: { host: `${APP}.localhost:${port}` }, timeout: 15_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
  const newAgent = () => new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(findRootCert(hiy.dataDir) ?? assert.fail('no Caddy CA')) });

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy({ keepDataDir: true });
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    // A worker besides web: ps:stop and ps:start act per type.
    wc.write('Procfile', 'web: busybox httpd -f -p $PORT -h /www\nworker: sh -c "while true; do sleep 1; done"\n');
    sha = await wc.commit('a worker');
  });

  after(async () => {
    agent?.destroy();
    await hiy?.stop();
    if (hiy) await removeDataDir(hiy.dataDir);
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('hiy apps shows "no release" before the first push, and "running" after it', async () => {
    await cliOk('create', APP, '--port', '8080', '--health-timeout', '20', '--drain', '1');
    assert.match(await cliOk('apps'), new RegExp(`^${APP}\\s+no release\\s`, 'm'));
    assert.equal((await info()).status, 'no_release');
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    await deployEnded(api, APP);
    agent = newAgent();
    assert.equal((await get()).status, 200);
    assert.deepEqual(await running(), ['web', 'worker']);
    assert.match(await cliOk('apps'), new RegExp(`^${APP}\\s+running\\s`, 'm'));
    assert.match(await cliOk('info', APP), /^status:?\s+running\s*$/m);
    const listed = (await api('GET', '/apps')).body.apps.find((a: { name: string }) => a.name === APP);
    assert.deepEqual([listed.status, listed.stopped, listed.maintenance], ['running', [], false]);
  });

  test('maintenance:on answers a 503 page on the same keep-alive connection (no reload); the app keeps running; off serves it again', async () => {
    assert.equal((await get()).status, 200);
    assert.match(await cliOk('maintenance:on', APP), /maintenance mode/);
    const page = await get();
    assert.equal(page.status, 503);
    assert.match(page.body, /Down for maintenance/);
    assert.equal(page.retryAfter, '120');
    assert.equal(page.reused, true, 'a Caddy reload would have closed the idle connection');
    assert.deepEqual(await running(), ['web', 'worker'], 'maintenance does not stop the app');
    assert.match(await cliOk('maintenance', APP), /is in maintenance mode/);
    assert.match(await cliOk('apps'), new RegExp(`^${APP}\\s+running, maintenance\\s`, 'm'));
    assert.equal((await info()).maintenance, true);
    assert.match(await cliOk('maintenance:off', APP), /not in maintenance mode/);
    const back = await get();
    assert.deepEqual([back.status, back.reused], [200, true]);
    const bad = await api('PUT', `/apps/${APP}/maintenance`, { enabled: 'yes' });
    assert.equal(bad.status, 400);
  });

  test('ps:stop worker stops only the worker; ps:stop stops web too behind a "stopped" page', async () => {
    assert.match(await cliOk('ps:stop', APP, 'worker'), /Stopped worker of/);
    assert.deepEqual(await running(), ['web']);
    assert.equal((await get()).status, 200);
    assert.deepEqual((await info()).stopped, ['worker']);
    assert.match(await cliOk('ps:stop', APP), /Stopped web, worker of .*"stopped" page/);
    assert.deepEqual(await running(), []);
    const page = await get();
    assert.equal(page.status, 503);
    assert.match(page.body, /App stopped/);
    const i = await info();
    assert.deepEqual([i.status, i.status_note, i.stopped], ['stopped', 'stopped by ps:stop', ['web', 'worker']]);
    assert.match(await cliOk('apps'), new RegExp(`^${APP}\\s+stopped\\s`, 'm'));
    const bad = await cli('ps:stop', APP, 'nosuch');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no process type "nosuch"/);
  });

  test('stopped stays stopped across a restart of hiy and an env change', async () => {
    const env = { ...hiy.env };
    agent.destroy();
    await hiy.stop();
    hiy = await startHiy({ dataDir: hiy.dataDir, keepDataDir: true, env });
    agent = newAgent();
    assert.deepEqual(await running(), [], 'reconciliation started nothing');
    assert.equal((await get()).status, 503);
    assert.equal((await info()).status, 'stopped');
    const set = JSON.parse(await cliOk('env:set', APP, 'GREETING=hi', '--json'));
    assert.equal(set.restarted, false, 'an env change does not start a stopped app');
    assert.deepEqual(await running(), []);
  });

  test('ps:start brings everything back healthy; a restart of a stopped app starts it and says so', async () => {
    assert.match(await cliOk('ps:start', APP), /Started web, worker of/);
    assert.deepEqual(await running(), ['web', 'worker']);
    assert.equal((await get()).status, 200);
    assert.deepEqual([(await info()).status, (await info()).stopped], ['running', []]);
    assert.match(await cliOk('ps:start', APP), /Nothing was stopped/);

    await cliOk('ps:stop', APP, 'web');
    assert.equal((await get()).status, 503);
    const out = await cliOk('restart', APP);
    assert.match(out, /was stopped \(web\): this release starts it/);
    await deployEnded(api, APP);
    assert.equal((await get()).status, 200);
    assert.deepEqual(await running(), ['web', 'worker']);
    assert.deepEqual((await info()).stopped, []);
  });

  test('scaling while a deploy builds answers 202 at once with that deploy; the CLI follows it and then sees the formation', async () => {
    // A build that takes a while (the run id keeps the step out of the engine's cache).
    const dockerfile = readFileSync(join(wc.dir, 'Dockerfile'), 'utf8');
    wc.write('Dockerfile', `${dockerfile}RUN : ${randomBytes(4).toString('hex')}; sleep 8\n`);
    await wc.commit('a slow build');
    const pushing = wc.push(remoteUrl(hiy.url, APP, hiy.token));
    try {
      let building: { id: number; status: string } | undefined;
      for (let i = 0; i < 100 && building?.status !== 'building'; i++) {
        building = (await api('GET', `/apps/${APP}/deploys?limit=1`)).body.deploys[0];
        if (building?.status !== 'building') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(building?.status, 'building');
      const t0 = Date.now();
      const res = await api('POST', `/apps/${APP}/ps/scale`, { formation: { worker: 2 } });
      assert.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms, not after the build`);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual([res.body.status, res.body.deploy], ['waiting', { id: building!.id, app: APP }]);
      const refused = await api('POST', `/apps/${APP}/ps/scale`, { formation: { worker: 99 } });
      assert.equal(refused.status, 400, 'a bad scale is refused at once, not after the deploy');
      const out = await cliOk('ps:scale', APP, 'worker=1');
      assert.match(out, new RegExp(`Deploy #${building!.id} of ${APP} is running: scaling ${APP} after it`));
      assert.match(out, /Scaled .*: web=1 worker=1/);
    } finally {
      assert.equal((await pushing).code, 0);
    }
    await deployEnded(api, APP);
    assert.deepEqual(await running(), ['web', 'worker']);
  });

  test('releases:info shows one release by version, with the deploy that made it', async () => {
    const out = await cliOk('releases:info', APP, 'v1');
    assert.match(out, new RegExp(`=== ${APP} v1\\n`));
    assert.match(out, new RegExp(`Commit:\\s+${sha}`));
    assert.match(out, /Deploy:\s+#\d+ \(git, success\)/);
    assert.match(out, /Processes: web: busybox httpd .*; worker: sh -c/);
    const json = JSON.parse(await cliOk('releases:info', APP, '2', '--json'));
    assert.deepEqual([json.release.version, json.release.current, json.deploy.triggered_by], [2, false, 'cli']);
    assert.match(await cliOk('releases:info', APP, 'v3'), /v3 \(current\)/);
    assert.equal(typeof json.release.processes, 'object');
    const missing = await cli('releases:info', APP, 'v99');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /release v99 .*not found/);
  });
});
