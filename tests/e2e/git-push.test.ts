import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';

const APP = `e2e-${randomBytes(3).toString('hex')}`;

function rawGet(base: string, path: string, authorization: string): Promise<number> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: { authorization } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('git push deploys through Docker and Caddy', { timeout: 900_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;

  const settled = () => deployEnded(api, APP);

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
    // The queue test's second app, also when that test failed half way.
    await cleanupByLabel(`hiy.app=${APP}-q`);
  });

  test('create app, push, and the app answers through Caddy over HTTPS', async () => {
    const created = await api('POST', '/apps', { name: APP, port: 8080 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    wc.write('www/index.html', 'hello from v1\n');
    const sha = await wc.commit('v1');

    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, new RegExp(`remote: -----> Building ${APP} \\(${sha.slice(0, 7)}\\)`));
    assert.match(push.stderr, /remote: -----> Live at https:\/\//);

    const res = await curlApp(hiy, APP);
    assert.equal(res.status, '200', `curl: ${JSON.stringify(res)}`);
    assert.equal(res.body, 'hello from v1\n');

    assert.equal((await settled()).status, 'success');
  });

  test('a pushed change replaces the body', async () => {
    wc.write('www/index.html', 'hello from v2\n');
    await wc.commit('v2');
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    assert.equal((await curlApp(hiy, APP)).body, 'hello from v2\n');
  });

  test('a broken Dockerfile fails the push, says why, and the old version keeps serving', async () => {
    const before = (await run('git', ['--git-dir', join(hiy.dataDir, 'repos', `${APP}.git`), 'rev-parse', 'refs/heads/main'])).stdout.trim();
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nRUN exit 3\n');
    await wc.commit('broken');
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /Deploy failed/);
    assert.match(push.stderr, /pre-receive hook declined/);
    assert.match(push.stderr, /RUN exit 3|returned a non-zero code: 3/);
    const afterRef = (await run('git', ['--git-dir', join(hiy.dataDir, 'repos', `${APP}.git`), 'rev-parse', 'refs/heads/main'])).stdout.trim();
    assert.equal(afterRef, before, 'the branch ref did not move');
    assert.equal((await curlApp(hiy, APP)).body, 'hello from v2\n');
    await wc.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('a push to another branch is accepted and not deployed', async () => {
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token), 'main:refs/heads/feature');
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /nothing was deployed/);
  });

  test('a push with a wrong or missing token is refused and writes nothing', async () => {
    const repo = join(hiy.dataDir, 'repos', `${APP}.git`);
    const refsBefore = (await run('git', ['--git-dir', repo, 'for-each-ref'])).stdout;
    const deploysBefore = (await api('GET', `/apps/${APP}/deploys`)).body;
    wc.write('www/index.html', 'should never deploy\n');
    await wc.commit('intruder');
    for (const token of ['hiy_wrong-token-000000000000000000000000000000000', null]) {
      const push = await wc.push(remoteUrl(hiy.url, APP, token));
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /Authentication failed|401|could not read Username/);
    }
    // node-git-server alone would accept an unauthenticated pack POST: ours must not.
    const direct = await fetch(`${hiy.url}/git/${APP}.git/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body: '0000' });
    assert.equal(direct.status, 401);
    assert.equal((await run('git', ['--git-dir', repo, 'for-each-ref'])).stdout, refsBefore);
    assert.deepEqual((await api('GET', `/apps/${APP}/deploys`)).body, deploysBefore);
    assert.equal((await curlApp(hiy, APP)).body, 'hello from v2\n');
    await wc.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('git paths with traversal tricks are refused', async () => {
    const auth = `Basic ${Buffer.from(`git:${hiy.token}`).toString('base64')}`;
    for (const path of [`/git/../${APP}.git/info/refs`, `/git/%2e%2e/${APP}.git/info/refs`, `/git//etc/passwd`, `/git/${APP}.git/../../secrets/info/refs`, '/git/nope.git/info/refs', `/git/${APP}.git/objects/info/packs`]) {
      // Sent as written: fetch would normalise "/git/../x" into "/x" before it left the client.
      const status = await rawGet(hiy.url, `${path}?service=git-upload-pack`, auth);
      assert.ok(status === 404 || status === 400, `${path} → ${status}`);
    }
    assert.ok(existsSync(join(hiy.dataDir, 'repos', `${APP}.git`)));
  });

  test('a push waits its turn behind the deploy of another app, and Ctrl-C does not stop a deploy half way', async () => {
    const other = `${APP}-q`;
    assert.equal((await api('POST', '/apps', { name: other, port: 8080 })).status, 201);
    // A slow build of this app keeps the one worker busy.
    // The app name keeps the step out of the engine's build cache (an earlier run would skip the sleep).
    wc.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN sleep 4 # ${APP}\nCOPY www /www\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`);
    wc.write('www/index.html', 'survived ctrl-c\n');
    await wc.commit('slow');
    const pusher = spawn('git', ['push', remoteUrl(hiy.url, APP, hiy.token), 'main'], { cwd: wc.dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: wc.dir, GIT_TERMINAL_PROMPT: '0' } });
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no build output: ${seen}`)), 60_000);
      pusher.stderr.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/Step 2\/\d+ : RUN sleep 4/.test(seen)) { clearTimeout(t); resolve(); }
      });
    });
    // The other app's push arrives while the worker builds: it hears its place in line.
    const second = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    const secondPush = second.push(remoteUrl(hiy.url, other, hiy.token));
    await new Promise((r) => setTimeout(r, 500));
    // Ctrl-C: SIGINT to the pusher's whole process group, as a terminal sends it.
    process.kill(-pusher.pid!, 'SIGINT');
    const queued = await secondPush;
    second.remove();
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stderr, /remote: -----> Queued: 1 deploy ahead of this one/);
    const last = await settled();
    assert.equal(last.status, 'success', last.log);
    assert.equal((await curlApp(hiy, APP)).body, 'survived ctrl-c\n');
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nCOPY www /www\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n');
    wc.write('www/index.html', 'hello from v2\n');
    await wc.commit('back to v2');
    const back = await wc.push(remoteUrl(hiy.url, APP, hiy.token), 'main', ['--force']);
    assert.equal(back.code, 0, back.stderr);
    await settled();
  });

  test('git push returns once the new release serves; the old release drains and stops after it, in the deploy log', async () => {
    // A release that ignores SIGTERM: stopping it takes the whole drain time (then SIGKILL).
    const stubborn = 'FROM hiy-test/busybox:1\nCOPY www /www\nCMD ["sh", "-c", "trap \'\' TERM; exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n';
    assert.equal((await api('PATCH', `/apps/${APP}`, { drain_s: 6 })).status, 200);
    wc.write('Dockerfile', stubborn);
    wc.write('www/index.html', 'stubborn v1\n');
    await wc.commit('stubborn v1');
    assert.equal((await wc.push(remoteUrl(hiy.url, APP, hiy.token))).code, 0);
    await settled();
    wc.write('www/index.html', 'stubborn v2\n');
    await wc.commit('stubborn v2');
    const t0 = Date.now();
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    const pushMs = Date.now() - t0;
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: -----> Live at https:\/\/[^]*remote: -----> Draining the old release \(up to 6 s\), then stopping it/);
    assert.equal((await curlApp(hiy, APP)).body, 'stubborn v2\n', 'the new release serves when the push returns');
    const running = (await run('docker', ['ps', '-q', '--filter', `label=hiy.app=${APP}`])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(running.length, 2, 'the old release is still being stopped');
    const t1 = Date.now();
    const d = await settled();
    const afterMs = Date.now() - t1;
    assert.equal(d.status, 'success', d.log);
    assert.match(d.log, /Draining the old release[^]*old release stopped/);
    assert.ok(afterMs > 3_000, `the old release took ${afterMs} ms to stop after the push returned (${pushMs} ms)`);
    const left = (await run('docker', ['ps', '-q', '--filter', `label=hiy.app=${APP}`])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(left.length, 1);
    // Back to the plain release the next test inspects.
    assert.equal((await api('PATCH', `/apps/${APP}`, { drain_s: 10 })).status, 200);
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nCOPY www /www\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n');
    wc.write('www/index.html', 'hello from v2\n');
    await wc.commit('plain again');
    assert.equal((await wc.push(remoteUrl(hiy.url, APP, hiy.token))).code, 0);
    await settled();
  });

  test('the running container is hardened', async () => {
    const ids = (await run('docker', ['ps', '-q', '--filter', `label=hiy.app=${APP}`])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(ids.length, 1, 'exactly one container serves the app');
    const [info] = JSON.parse((await run('docker', ['inspect', ids[0]!])).stdout);
    const hc = info.HostConfig;
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.ok(hc.SecurityOpt.includes('no-new-privileges'));
    assert.ok(hc.PidsLimit > 0);
    assert.equal(hc.Memory, 512 * 1024 * 1024);
    assert.equal(hc.NanoCpus, 0.5e9);
    assert.equal(hc.RestartPolicy.Name, 'unless-stopped');
    assert.equal(hc.LogConfig.Type, 'json-file');
    assert.ok(hc.LogConfig.Config['max-size']);
    assert.equal(hc.NetworkMode, `hiy-${APP}`);
    for (const bindings of Object.values(hc.PortBindings) as { HostIp: string }[][]) {
      for (const b of bindings) assert.equal(b.HostIp, '127.0.0.1');
    }
    assert.ok(info.Config.Env.includes('PORT=8080'));
    assert.match(info.Name, new RegExp(`^/hiy-${APP}-web-[0-9a-f]{8}$`));
  });
});
