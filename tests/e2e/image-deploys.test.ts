import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curlApp, findRootCert } from '../../harness/app-http.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { startLoad } from '../../harness/load.js';
import { hiyEntry } from '../../harness/paths.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { imageContext, waitDeploy as waitDeployOf, webImageContext, WEB_CMD, type Deploy } from '../helpers/image-apps.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// Image deploys against a real registry (Debian's docker-registry, htpasswd auth, TLS from the
// test's own CA, reached by the shared engine on a veth of the test's own), a real hiy, Caddy and
// engine. One app goes through them in order; each test says what it leaves behind.

const APP = `img-${randomBytes(3).toString('hex')}`;
const HOST_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const OTHER_ARCH = HOST_ARCH === 'arm64' ? 'amd64' : 'arm64';


describe('image deploys from a registry', { timeout: 600_000 }, () => {
  let reg: TestRegistry;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let ctx: string;
  const digests: Record<string, string> = {};
  const repo = () => `${reg.host}/t/${APP}`;

  /** A context folder: busybox serving `body` at /, and optionally a /app/Procfile. */
  const context = (name: string, lines: string[], files: Record<string, string>) => imageContext(ctx, name, lines, files);
  const webImage = (name: string, body: string) => webImageContext(ctx, name, body);

  const waitDeploy = (id: number) => waitDeployOf(api, APP, id);
  async function deployImage(image: string): Promise<Deploy> {
    const r = await api('POST', `/apps/${APP}/deploys`, { image });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitDeploy(r.body.deploy.id);
  }
  const body = async () => (await curlApp(hiy, APP)).body;
  const releases = async () => (await api('GET', `/apps/${APP}/releases`)).body as { current: number | null; releases: { version: number; sha: string; image: string; image_ref: string | null; current: boolean }[] };
  const login = (host: string, password: string) => api('PUT', `/registries/${encodeURIComponent(host)}`, { username: reg.username, password });

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    ctx = mkdtempSync(join(tmpdir(), 'hiy-img-ctx-'));
    reg = await startRegistry();
    digests.v1 = await reg.buildAndPush(webImage('v1', 'v1\n'), `t/${APP}:v1`);
    digests.v2 = await reg.buildAndPush(context('v2', ['FROM hiy-test/busybox:1', 'COPY www /www', 'COPY Procfile /app/Procfile'], {
      'www/index.html': 'v2\n',
      Procfile: 'release: echo release ran on port $PORT\nweb: busybox httpd -f -p $PORT -h /www\n',
    }), `t/${APP}:v2`);
    digests.other = await reg.buildAndPush(context('other', ['FROM scratch', 'COPY www /www', 'CMD ["/www/nothing"]'], { 'www/index.html': 'x\n' }), `t/${APP}:${OTHER_ARCH}`, { platform: `linux/${OTHER_ARCH}` });
    hiy = await startHiy({ env: { HIY_KEEP_RELEASES: '1' } });
    api = apiClient(hiy);
    const created = await api('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 20, drain_s: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  after(async () => {
    await hiy?.stop();
    await reg?.stop();
    if (ctx) rmSync(ctx, { recursive: true, force: true });
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('the engine checks the registry\'s certificate: without the test CA in certs.d the pull is refused', async () => {
    reg.trustCa(false);
    try {
      const d = await deployImage(`${repo()}:v1`);
      assert.equal(d.status, 'failed');
      assert.match(d.error ?? '', /the registry .* could not be reached \(.*(x509|certificate).*\); nothing was changed/);
    } finally {
      reg.trustCa(true);
    }
  });

  test('without a login, and with a wrong one, the deploy fails saying so and nothing changes', async () => {
    const none = await deployImage(`${repo()}:v1`);
    assert.equal(none.status, 'failed');
    assert.match(none.error ?? '', new RegExp(`${reg.host.replace(/\./g, '\\.')} wants a login to pull .*hiy registry:login`));
    assert.equal((await login(reg.host, 'wrong-password')).status, 201);
    const wrong = await deployImage(`${repo()}:v1`);
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.error ?? '', new RegExp(`refused the login of ${reg.username}.*nothing was changed`));
    assert.doesNotMatch(wrong.log, /Starting/);
    assert.deepEqual((await releases()).releases, []);
    assert.equal((await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`])).stdout.trim(), '', 'no container was made');
  });

  test('a tag deploy pulls through the engine with its progress in the log, records the digest and serves', async () => {
    assert.equal((await login(reg.host, reg.password)).status, 200, 'the login is replaced');
    const d = await deployImage(`${repo()}:v1`);
    assert.equal(d.status, 'success', d.log);
    assert.match(d.log, new RegExp(`-----> Pulling ${repo().replace(/\./g, '\\.')}:v1`));
    assert.match(d.log, new RegExp(`with the ${reg.host.replace(/\./g, '\\.')} login of ${reg.username}`));
    assert.match(d.log, new RegExp(`${digests.v1}, built for linux/${HOST_ARCH}`));
    assert.match(d.log, /Pull complete/, 'the engine\'s pull progress is in the log');
    assert.match(d.log, /no \/app\/Procfile in the image: its own command runs as web/);
    assert.equal(d.sha, digests.v1, 'the deploy records the digest');
    assert.equal(await body(), 'v1\n');
    const rel = await releases();
    assert.equal(rel.releases[0]!.sha, digests.v1);
    assert.equal(rel.releases[0]!.image_ref, `${repo()}:v1`);
    assert.equal(rel.releases[0]!.image, `hiy/${APP}:${digests.v1!.replace(':', '-')}`);
    const refs = (await docker(['image', 'inspect', '--format', '{{join .RepoTags " "}}|{{join .RepoDigests " "}}', rel.releases[0]!.image])).stdout.trim();
    assert.equal(refs, `hiy/${APP}:${digests.v1!.replace(':', '-')}|`, 'only hiy\'s name keeps the pulled image, so pruning can remove it');
  });

  test('a digest deploy runs the image\'s /app/Procfile: its release command first, then its web command', async () => {
    const d = await deployImage(`${repo()}@${digests.v2}`);
    assert.equal(d.status, 'success', d.log);
    assert.match(d.log, /\/app\/Procfile: release, web/);
    assert.match(d.log, /Running the release command: echo release ran on port \$PORT/);
    assert.match(d.log, /release ran on port 8080/);
    assert.equal(await body(), 'v2\n');
    assert.equal((await releases()).releases[0]!.sha, digests.v2);
  });

  test('a missing tag fails clearly and the running release keeps serving', async () => {
    const d = await deployImage(`${repo()}:no-such-tag`);
    assert.equal(d.status, 'failed');
    assert.match(d.error ?? '', /no-such-tag was not found in .*no such tag.*nothing was changed/);
    assert.equal(await body(), 'v2\n');
  });

  test('an image for another platform is refused before anything of it is pulled or started, naming both platforms', async () => {
    const d = await deployImage(`${repo()}:${OTHER_ARCH}`);
    assert.equal(d.status, 'failed');
    assert.match(d.error ?? '', new RegExp(`is built for linux/${OTHER_ARCH}, but this box runs linux/${HOST_ARCH}`));
    assert.doesNotMatch(d.log, /Pull complete|Starting/);
    assert.notEqual((await docker(['image', 'inspect', `${repo()}@${digests.other}`])).code, 0, 'nothing was pulled');
    assert.equal(await body(), 'v2\n');
    assert.equal((await releases()).releases.length, 2);
  });

  test('rollback releases a pulled image again after its tag moved, without pulling', async () => {
    digests.v3 = await reg.buildAndPush(webImage('v3', 'v3\n'), `t/${APP}:v1`);
    assert.notEqual(digests.v3, digests.v1, 'the tag moved');
    const moved = await deployImage(`${repo()}:v1`);
    assert.equal(moved.status, 'success', moved.log);
    assert.equal(moved.sha, digests.v3);
    assert.equal(await body(), 'v3\n');

    const rb = await api('POST', `/apps/${APP}/rollback`, { version: 2 });
    assert.equal(rb.status, 202, JSON.stringify(rb.body));
    const d = await waitDeploy(rb.body.deploy.id);
    assert.equal(d.status, 'success', d.log);
    assert.doesNotMatch(d.log, /Pulling/);
    assert.equal(await body(), 'v2\n');
    const rel = await releases();
    assert.equal(rel.releases[0]!.sha, digests.v2);
    assert.equal(rel.releases[0]!.image_ref, `${repo()}@${digests.v2}`);
  });

  test('pruning counts pulled images: only the current one and HIY_KEEP_RELEASES before it stay', async () => {
    const d = await deployImage(`${repo()}@${digests.v1}`);
    assert.equal(d.status, 'success', d.log);
    const images = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', `hiy/${APP}`])).stdout.trim().split('\n').filter(Boolean).sort();
    assert.deepEqual(images, [`hiy/${APP}:${digests.v1!.replace(':', '-')}`, `hiy/${APP}:${digests.v2!.replace(':', '-')}`].sort());
  });

  test('not one request fails across image deploys under load', async () => {
    const load = startLoad({ host: `${APP}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: findRootCert(hiy.dataDir)!, keepAliveConnections: 6, freshConnectionLoops: 2 });
    await new Promise((r) => setTimeout(r, 500));
    for (const ref of [`${repo()}:v1`, `${repo()}@${digests.v2}`, `${repo()}@${digests.v1}`]) {
      const d = await deployImage(ref);
      assert.equal(d.status, 'success', d.log);
    }
    await new Promise((r) => setTimeout(r, 500));
    const report = await load.stop();
    assert.ok(report.sent > 200, `enough requests were sent (${report.sent})`);
    assert.equal(report.errors, 0, `connection errors: ${report.errorSamples.join('; ')}`);
    assert.equal(report.non2xx, 0, `non-2xx answers: ${report.errorSamples.join('; ')}`);
    for (const v of ['v1\n', 'v2\n', 'v3\n']) assert.ok(report.bodies.has(v), `clients saw ${JSON.stringify(v)}: ${[...report.bodies.keys()].join(', ')}`);
  });

  test('newest wins while a pull runs: the waiting deploy is superseded, the newest one follows the pull', async () => {
    const big = await reg.buildAndPush(context('big', ['FROM hiy-test/busybox:1', 'RUN dd if=/dev/urandom of=/big bs=1M count=12', 'COPY www /www', WEB_CMD], { 'www/index.html': 'big\n' }), `t/${APP}:big`);
    assert.equal((await login(reg.slowHost, reg.password)).status, 201);
    reg.setRate(1024 * 1024);
    try {
      const a = await api('POST', `/apps/${APP}/deploys`, { image: `${reg.slowHost}/t/${APP}@${big}` });
      for (let i = 0; i < 100; i++) {
        const d = (await api('GET', `/apps/${APP}/deploys/${a.body.deploy.id}`)).body.deploy as Deploy;
        if (/Pulling fs layer/.test(d.log)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const b = await api('POST', `/apps/${APP}/deploys`, { image: `${repo()}@${digests.v2}` });
      const c = await api('POST', `/apps/${APP}/deploys`, { image: `${repo()}:v1` });
      const [da, db, dc] = [await waitDeploy(a.body.deploy.id), await waitDeploy(b.body.deploy.id), await waitDeploy(c.body.deploy.id)];
      assert.match(da.log, /Pulling fs layer/);
      assert.equal(da.status, 'success', da.log);
      assert.equal(db.status, 'superseded', db.log);
      assert.equal(dc.status, 'success', dc.log);
      assert.match(da.log, /Download complete/);
      assert.ok((await api('GET', `/apps/${APP}/deploys/${a.body.deploy.id}`)).body.deploy.finished_at <= (await api('GET', `/apps/${APP}/deploys/${c.body.deploy.id}`)).body.deploy.started_at, 'the newest deploy ran after the pull');
      assert.equal(await body(), 'v3\n');
    } finally {
      reg.setRate(undefined);
    }
  });

  test('the CLI: registry:login from stdin, registry, deploy --image following the log, registry:logout', async () => {
    const cli = (args: string[], input = '') => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [hiyEntry(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      p.on('close', (code) => resolve({ code, stdout, stderr }));
      p.stdin.end(input);
    });
    const stored = await cli(['registry:login', reg.host, '--username', reg.username, '--app', APP], `${reg.password}\n`);
    assert.equal(stored.code, 0, stored.stderr);
    assert.match(stored.stdout, new RegExp(`Stored the login of ${reg.username} at ${reg.host.replace(/\./g, '\\.')} for ${APP}`));
    const listed = await cli(['registry']);
    assert.match(listed.stdout, new RegExp(`${reg.host.replace(/\./g, '\\.')} +${APP} +${reg.username}`));
    assert.match(listed.stdout, /\(every app\)/);
    const deployed = await cli(['deploy', APP, '--image', `${repo()}@${digests.v2}`]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /Pulling .*\n[\s\S]*Released v\d+/);
    assert.equal(await body(), 'v2\n');
    const out = await cli(['registry:logout', reg.host, '--app', APP]);
    assert.equal(out.code, 0, out.stderr);
    const bad = await cli(['deploy', APP, '--image', 'Not/A:Ref!']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not an image reference/);
  });

  test('below HIY_DISK_RESERVE_MB neither a pull nor an upload starts, and nothing changes', async () => {
    // A reserve larger than any disk here (the largest HIY_DISK_RESERVE_MB accepts).
    const full = await startHiy({ env: { HIY_DISK_RESERVE_MB: '10000000' } });
    const app = `${APP}-full`;
    const archive = join(ctx, 'busybox.tar');
    try {
      const fapi = apiClient(full);
      assert.equal((await fapi('POST', '/apps', { name: app, port: 8080, health_timeout_s: 20 })).status, 201);
      assert.equal((await fapi('PUT', `/registries/${encodeURIComponent(reg.host)}`, { username: reg.username, password: reg.password })).status, 201);
      const low = /did not start: the disk holding \S+ has \d+ MB free, less than the 10000000 MB reserve \(HIY_DISK_RESERVE_MB\).*nothing was changed/;

      const r = await fapi('POST', `/apps/${app}/deploys`, { image: `${repo()}@${digests.v2}` });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const pulled = await waitDeployOf(fapi, app, r.body.deploy.id);
      assert.equal(pulled.status, 'failed');
      assert.match(pulled.error ?? '', new RegExp(`^the pull ${low.source}`));
      assert.doesNotMatch(pulled.log, /Pulling fs layer|Pull complete/);

      assert.equal((await docker(['save', '-o', archive, 'hiy-test/busybox:1'])).code, 0);
      const up = await fetch(`${full.url}/api/v1/apps/${app}/images`, {
        method: 'POST', body: readFileSync(archive), signal: AbortSignal.timeout(60_000),
        headers: { authorization: `Bearer ${full.token}`, 'content-type': 'application/x-tar' },
      });
      assert.equal(up.status, 422);
      assert.match(((await up.json()) as { error: { message: string } }).error.message, new RegExp(`^the upload ${low.source}`));

      assert.deepEqual((await fapi('GET', `/apps/${app}/releases`)).body.releases, []);
      assert.equal((await docker(['images', '-q', `hiy/${app}`])).stdout.trim(), '', 'no image was kept');
    } finally {
      await full.stop();
      rmSync(archive, { force: true });
      await cleanupByLabel(`hiy.app=${app}`);
    }
  });

  test('the registry password is in no log, answer or database page', async () => {
    const all = (await api('GET', `/apps/${APP}/deploys?limit=200`)).body.deploys as Deploy[];
    for (const d of all) assert.doesNotMatch((await api('GET', `/apps/${APP}/deploys/${d.id}`)).body.deploy.log, new RegExp(reg.password));
    const logins = await api('GET', '/registries');
    assert.equal(logins.status, 200);
    assert.ok(logins.body.logins.length >= 2);
    assert.doesNotMatch(JSON.stringify(logins.body), new RegExp(reg.password));
    assert.doesNotMatch(hiy.output(), new RegExp(reg.password), 'the server log');
    for (const f of ['hiy.db', 'hiy.db-wal']) {
      let bytes = '';
      try { bytes = readFileSync(join(hiy.dataDir, f), 'latin1'); } catch { /* no WAL */ }
      assert.ok(!bytes.includes(reg.password), `${f} holds the password in the clear`);
    }
  });
});
