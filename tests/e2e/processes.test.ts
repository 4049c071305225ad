/**
 * Procfile processes over time: scaling web to 2 and back while a request loop runs (fresh and
 * keep-alive connections, through Caddy), and the app's volume keeping its data across a
 * redeploy and a rollback until `destroy --volumes`. The CLI drives it, as a user would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { apiClient, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureNodeNpmImage, NODE_NPM_IMAGE } from '../../harness/images.js';
import { curlApp, findRootCert } from '../../harness/app-http.js';

const APP = `ps-${randomBytes(3).toString('hex')}`;
const VOLUME = `hiy-${APP}-data`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process formation and volumes', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;

  const cli = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, timeout: 300_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
  const cliOk = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `hiy ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const waitDeploy = async (id: number) => {
    for (let i = 0; i < 600; i++) {
      const d = (await api('GET', `/apps/${APP}/deploys/${id}`)).body.deploy;
      if (!['queued', 'building'].includes(d.status)) return d;
      await sleep(200);
    }
    throw new Error(`deploy ${id} did not finish`);
  };
  const count = async () => {
    const r = await curlApp(hiy, APP, '/count');
    assert.equal(r.status, '200', JSON.stringify(r));
    return Number(r.body.trim());
  };

  before(async () => {
    await ensureDocker();
    await ensureNodeNpmImage();
    hiy = await startHiy({ keepDataDir: true, env: { HIY_IMAGE_NODE: NODE_NPM_IMAGE, HIY_IMAGE_STATIC: BUSYBOX_IMAGE } });
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'node-app'));
    assert.equal((await api('POST', '/apps', { name: APP, health_timeout_s: 20, drain_s: 2 })).status, 201);
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await hiy?.stop();
    if (hiy) await removeDataDir(hiy.dataDir);
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
    await docker(['volume', 'rm', '-f', VOLUME]);
  });

  test('scaling web to 2 and back serves every request, over fresh and keep-alive connections', async () => {
    const port = Number(hiy.env.HIY_HTTPS_PORT);
    const ca = readFileSync(findRootCert(hiy.dataDir) ?? assert.fail('no Caddy CA'));
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca, servername: `${APP}.localhost` });
    const keepAliveGet = () => new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent, headers: { host: `${APP}.localhost:${port}` }, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}: ${body}`))));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let requests = 0;
    let stop = false;
    const record = (body: string) => {
      requests++;
      const host = /from ([0-9a-f]{12})/.exec(body)?.[1] ?? body;
      seen.set(host, (seen.get(host) ?? 0) + 1);
    };
    const loops = [
      ...Array.from({ length: 3 }, async () => {
        while (!stop) await keepAliveGet().then(record, (e: Error) => { failures.push(`keep-alive: ${e.message}`); });
      }),
      (async () => {
        while (!stop) {
          const r = await curlApp(hiy, APP);
          if (r.status === '200') record(r.body); else failures.push(`curl: ${JSON.stringify(r)}`);
        }
      })(),
    ];
    try {
      await sleep(500);
      assert.match(await cliOk('ps:scale', APP, 'web=2'), /Scaled .*web=2 worker=1/);
      const ps = JSON.parse(await cliOk('ps', APP, '--json'));
      const web = ps.processes.filter((p: { type: string; running: boolean }) => p.type === 'web' && p.running);
      assert.equal(web.length, 2, JSON.stringify(ps));
      assert.deepEqual(web.map((p: { replica: number }) => p.replica), [0, 1]);
      assert.equal(web[1].port, web[0].port + 2, 'replica 1 has its own fixed port next to replica 0\'s pair');
      assert.match(await cliOk('ps', APP), /web\s+1\s+running/);
      seen.clear();
      await sleep(2000);
      const servedBy = [...seen.keys()];
      assert.equal(servedBy.length, 2, `both replicas answered: ${JSON.stringify([...seen])}`);
      assert.match(await cliOk('ps:scale', APP, 'web=1'), /web=1/);
      await sleep(1000);
    } finally {
      stop = true;
      await Promise.all(loops);
      agent.destroy();
    }
    console.log(`# scaling web 1 -> 2 -> 1: ${requests} requests, ${failures.length} failed`);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.ok(requests > 50, `only ${requests} requests ran`);
    const ps = (await api('GET', `/apps/${APP}/ps`)).body;
    assert.equal(ps.processes.filter((p: { type: string }) => p.type === 'web').length, 1);
    assert.deepEqual(ps.formation, { web: 1, worker: 1 });
    const bad = await cli('ps:scale', APP, 'web=9');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /web must be a whole number from 1 to 4/);
    assert.match((await cli('ps:scale', APP, 'clock=1')).stderr, /no process type "clock"/);
  });

  test('the volume keeps its data across a redeploy and a rollback, and only destroy --volumes removes it', async () => {
    const added = await cliOk('volumes:add', APP, '/data', '--json');
    const restart = JSON.parse(added);
    assert.equal(restart.volume.name, VOLUME);
    assert.equal((await waitDeploy(restart.deploy_id)).status, 'success');
    assert.match(await cliOk('volumes', APP), new RegExp(`${VOLUME}\\s+/data`));
    assert.equal(await count(), 1);
    assert.equal(await count(), 2);
    const workers = (await run('docker', ['ps', '-q', '--filter', `label=hiy.app=${APP}`, '--filter', 'label=hiy.process=worker'])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(workers.length, 1);
    const mounts = JSON.parse((await docker(['inspect', '--format', '{{json .Mounts}}', workers[0]!])).stdout);
    assert.deepEqual(mounts.map((m: { Name: string; Destination: string }) => [m.Name, m.Destination]), [[VOLUME, '/data']], 'workers mount it too');

    wc.write('message.txt', 'hello v2\n');
    await wc.commit('v2');
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await count(), 3, 'the count survived a redeploy');

    const rb = await api('POST', `/apps/${APP}/rollback`, {});
    assert.equal(rb.status, 202, JSON.stringify(rb.body));
    assert.equal((await waitDeploy(rb.body.deploy.id)).status, 'success');
    assert.match((await curlApp(hiy, APP)).body, /^hello v1 /);
    assert.equal(await count(), 4, 'the count survived a rollback');

    // A lost worker comes back at the next start of hiy (start-up reconciliation), with the volume.
    const worker = (await run('docker', ['ps', '-q', '--filter', `label=hiy.app=${APP}`, '--filter', 'label=hiy.process=worker'])).stdout.trim();
    assert.equal((await docker(['rm', '-f', worker])).code, 0);
    await hiy.stop();
    hiy = await startHiy({ dataDir: hiy.dataDir, keepDataDir: true, env: { ...hiy.env, HIY_ADMIN_TOKEN: hiy.token } });
    api = apiClient(hiy);
    let ps: { processes: { type: string; running: boolean }[] } | undefined;
    for (let i = 0; i < 100; i++) {
      ps = (await api('GET', `/apps/${APP}/ps`)).body;
      if (ps?.processes.some((p) => p.type === 'worker' && p.running)) break;
      await sleep(200);
    }
    assert.deepEqual(ps?.processes.map((p) => [p.type, p.running]), [['web', true], ['worker', true]]);
    assert.equal(await count(), 5, 'and the data is still there');

    assert.match(await cliOk('destroy', APP, '--confirm', APP, '--volumes'), new RegExp(`^Destroyed ${APP} and its volume hiy-${APP}-data\n$`));
    assert.notEqual((await docker(['volume', 'inspect', VOLUME])).code, 0, 'the volume is gone');
  });
});
