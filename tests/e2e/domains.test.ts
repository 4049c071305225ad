import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp, curlHost } from '../../harness/app-http.js';

const APP = `dom-${randomBytes(3).toString('hex')}`;
const OTHER = `${APP}-b`;
const HOST = `shop-${randomBytes(3).toString('hex')}.example.test`;

describe('custom domains route to an app over TLS through Caddy', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  const cli = (...args: string[]) => run(process.execPath, [hiyEntry(), ...args], { env: { HIY_URL: hiy.url, HIY_TOKEN: hiy.token } });

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    for (const name of [APP, OTHER]) assert.equal((await api('POST', '/apps', { name, port: 8080 })).status, 201);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('www/index.html', 'the shop\n');
    await wc.commit('shop');
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('domains:add routes the host, with a certificate from Caddy, and the default host keeps working', async () => {
    const add = await cli('domains:add', APP, HOST);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, new RegExp(HOST.replace(/\./g, '\\.')));
    // Caddy obtains the new name's certificate in the background right after the reload.
    let res = await curlHost(hiy, HOST);
    for (let i = 0; i < 50 && res.status !== '200'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await curlHost(hiy, HOST);
    }
    assert.equal(res.status, '200', JSON.stringify(res));
    assert.equal(res.body, 'the shop\n');
    assert.equal((await curlApp(hiy, APP)).body, 'the shop\n');
    const list = await cli('domains', APP, '--json');
    assert.deepEqual(JSON.parse(list.stdout).domains.map((d: { host: string }) => d.host), [HOST]);
  });

  test('a host another app uses is refused, and so are hostile or malformed hosts', async () => {
    const taken = await api('POST', `/apps/${OTHER}/domains`, { host: HOST.toUpperCase() });
    assert.equal(taken.status, 409);
    assert.match(taken.body.error.message, /already used by another app/);
    for (const host of [`x.localhost`, 'hiy.localhost', '127.0.0.1', '*.example.com', 'a..b.com', '-a.com', 'a.com/x', 'a.com:443', 'exa mple.com', 'a'.repeat(64) + '.com', '$(id).com', 'localhost']) {
      const r = await api('POST', `/apps/${OTHER}/domains`, { host });
      assert.equal(r.status, 400, `${host} → ${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual((await api('GET', `/apps/${OTHER}/domains`)).body.domains, []);
  });

  test('domains:remove stops routing the host', async () => {
    const rm = await cli('domains:remove', APP, HOST);
    assert.equal(rm.code, 0, rm.stderr);
    const res = await curlHost(hiy, HOST);
    assert.notEqual(res.body, 'the shop\n');
    assert.equal((await curlApp(hiy, APP)).body, 'the shop\n');
  });

  test('domains survive a hiy restart (routes are rebuilt from the database)', async () => {
    assert.equal((await api('POST', `/apps/${APP}/domains`, { host: HOST })).status, 201);
    const env = hiy.env;
    const dataDir = hiy.dataDir;
    hiy.proc.kill('SIGTERM');
    await new Promise((r) => hiy.proc.once('exit', r));
    hiy = await startHiy({ dataDir, env });
    api = apiClient(hiy);
    assert.equal((await curlHost(hiy, HOST)).body, 'the shop\n');
  });
});
