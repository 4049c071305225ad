/**
 * Hostile input at every boundary that takes a name, a branch, an env var or a URL: the REST API,
 * the CLI (a real process) and the git remote (the real git client and raw HTTP). Each attempt
 * must be refused with a clear error and leave no trace: no marker file from an injected command,
 * no change in what the API reports, no new repository on disk, no request to a redirect target.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { run } from '../../harness/git.js';
import { freePort } from '../../harness/ports.js';
import { cli, injections, markerDir, rawGet, snapshot } from './support.js';

const APP = `sec-in-${randomBytes(3).toString('hex')}`;

describe('hostile input is refused and leaves no trace', { timeout: 180_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const marker = markerDir();
  let baseline: string;

  before(async () => {
    hiy = await startHiy();
    api = apiClient(hiy);
    const created = await api('POST', '/apps', { name: APP, port: 8080 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    baseline = await snapshot(hiy);
  });

  after(async () => {
    await hiy?.stop();
    marker.remove();
  });

  test('app names: API and CLI refuse every hostile name', async () => {
    const names = [
      ...injections(marker.file), '../etc', 'a/b', '.git', 'x.git', 'A', 'a'.repeat(31), '-rf', 'app-', 'a--b', 'é', '', ' a',
      'a\u0000b', 'hiy', 'api', 'caddy', 'app%2f..', 'app\r\nX-Injected: 1',
    ];
    for (const name of names) {
      const res = await api('POST', '/apps', { name });
      assert.equal(res.status, 400, `${JSON.stringify(name)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_name');
      assert.match(res.body.error.message, /invalid app name|reserved/);
    }
    for (const name of [`$(touch ${marker.file})`, `x;touch ${marker.file}`, '--help;id', '../../etc']) {
      const r = await cli(hiy, ['create', name]);
      assert.notEqual(r.code, 0, `hiy create ${name}: ${r.stdout}`);
      assert.match(r.stderr, /invalid app name|unknown option|Unknown option|reserved/i, r.stderr);
    }
    // Names in paths: every route validates before it looks anything up.
    for (const path of ['/apps/..%2f..%2fetc', '/apps/%2e%2e', `/apps/${encodeURIComponent(`x;touch ${marker.file}`)}/env`, '/apps/A/deploys']) {
      const res = await api('GET', path);
      assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
      assert.ok(res.body.error?.message, `${path} answered with a reason`);
    }
  });

  test('branch names: refused before they reach a git command line', async () => {
    const branches = [
      ...injections(marker.file), '-x', 'a..b', 'refs/../../x', '.hidden', 'a/.x', 'a.lock', 'a b', 'a~1', 'a^{}', 'a:b',
      '@{-1}', 'a\\b', '/x', 'x/', 'a//b', 'a'.repeat(101), '',
    ];
    for (const branch of branches) {
      const res = await api('PATCH', `/apps/${APP}`, { branch });
      assert.equal(res.status, 400, `${JSON.stringify(branch)} → ${res.status}`);
      assert.match(res.body.error.message, /invalid branch/);
    }
    const r = await cli(hiy, ['update', APP, `--branch=--upload-pack=touch ${marker.file}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid branch/);
  });

  test('env keys and values: bad keys and NUL or oversized values are refused, hostile text stays data', async () => {
    const keys = ['A=B', '1A', 'A B', 'A\nB', `A;touch ${marker.file}`, '$(id)', 'PORT', '', 'K'.repeat(129), 'A-B', 'Ä'];
    for (const key of keys) {
      const res = await api('PATCH', `/apps/${APP}/env`, { vars: { [key]: 'v' } });
      assert.equal(res.status, 400, `${JSON.stringify(key)} → ${res.status}`);
      assert.match(res.body.error.message, /invalid env key|set by hiy/);
    }
    for (const value of ['a\u0000b', 'x'.repeat(33 * 1024)]) {
      const res = await api('PATCH', `/apps/${APP}/env`, { vars: { GOOD_KEY: value } });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /NUL|larger than/);
      // The error names the key, never the value.
      assert.ok(!JSON.stringify(res.body).includes('xxxxxxxx'));
    }
    const r = await cli(hiy, ['env:set', APP, `X;touch ${marker.file}=1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid env key/);
    assert.equal(await snapshot(hiy), baseline, 'nothing was written');

    // Shell metacharacters in a VALUE are just data: stored and given back byte for byte.
    const hostile = `$(touch ${marker.file});\`id\`|x\n'"`;
    const set = await api('PATCH', `/apps/${APP}/env`, { vars: { HOSTILE: hostile } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal((await api('GET', `/apps/${APP}/env/HOSTILE?reveal=true`)).body.value, hostile);
    assert.equal((await api('DELETE', `/apps/${APP}/env`, { keys: ['HOSTILE'] })).status, 200);
  });

  test('repo URLs: only https (or http to loopback) without credentials, odd hosts or dot segments', async () => {
    const urls = [
      `ext::sh -c touch% ${marker.file}`, 'file:///etc/passwd', '/etc/passwd', `--upload-pack=touch ${marker.file}`, 'ssh://git@github.com/x/y.git',
      'git://github.com/x/y.git', 'http://10.0.0.1/x.git', 'http://example.com/x.git', 'https://user:pw@github.com/x/y.git', 'https://tok@github.com/x/y.git',
      'https://github.com/x/../../y.git', 'https://github.com/x/%2e%2e/y.git', 'https://github.com\\@evil.example/x.git', 'https://github.com/x.git?upload-pack=x',
      'https://github.com/x.git#frag', 'https://-oProxyCommand=x/y.git', 'https://', 'https:///x.git', 'https://github.com/ x.git', 'https://github.com/',
      'https://0.0.0.0/x.git', 'https://169.254.169.254/latest.git', 'https://[fe80::1]/x.git', 'https://2130706433/x.git', 'https://0x7f.1/x.git',
      'HTTPS://github.com/x\u0000.git', 'https://gïthub.com/x.git',
    ];
    for (const repo_url of urls) {
      const res = await api('PATCH', `/apps/${APP}`, { repo_url });
      assert.equal(res.status, 400, `${JSON.stringify(repo_url)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /repo_url must be/);
    }
    const r = await cli(hiy, ['update', APP, '--repo', `ext::sh -c touch% ${marker.file}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /repo_url must be/);
    assert.equal(await snapshot(hiy), baseline);
  });

  test('a repo URL that redirects is not followed (no request reaches the target)', async () => {
    let targetHits = 0;
    const target: Server = createServer((_req, res) => { targetHits++; res.end('x'); });
    const redirector: Server = createServer((req, res) => { res.writeHead(302, { location: `http://127.0.0.1:${targetPort}${req.url}` }); res.end(); });
    const [targetPort, redirectPort] = [await freePort(), await freePort()];
    await new Promise<void>((r) => target.listen(targetPort, '127.0.0.1', r));
    await new Promise<void>((r) => redirector.listen(redirectPort, '127.0.0.1', r));
    try {
      const app = `${APP}-r`;
      assert.equal((await api('POST', '/apps', { name: app, repo_url: `http://127.0.0.1:${redirectPort}/me/app.git` })).status, 201);
      // The fetch is the deploy's first step (202 at once); it fails there, in the deploy's log.
      const res = await api('POST', `/apps/${app}/deploys`, {});
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const ended = await deployEnded(api, app, res.body.deploy.id);
      assert.equal(ended.status, 'failed');
      assert.match(String(ended.error), /git fetch from .* failed|redirect/i);
      assert.equal(targetHits, 0, 'the redirect target never got a request');
      assert.equal((await api('DELETE', `/apps/${app}`)).status, 200);
    } finally {
      target.close();
      redirector.close();
    }
  });

  test('git paths: traversal and odd paths are refused by raw HTTP and by the git client', async () => {
    const auth = `Basic ${Buffer.from(`git:${hiy.token}`).toString('base64')}`;
    const paths = [
      `/git/../${APP}.git/info/refs`, `/git/%2e%2e/${APP}.git/info/refs`, '/git//etc/passwd', `/git/${APP}.git/../../hiy.db`,
      `/git/${APP}.git/../../secrets/info/refs`, `/git/${APP}.git/objects/info/packs`, `/git/${APP}.git/config`, `/git/${APP}.git/hooks/pre-receive`,
      `/git/${APP.toUpperCase()}.git/info/refs`, `/git/${APP}%2egit/info/refs`, `/git/${APP}.git%2finfo%2frefs`, `/git/${APP}.git/info/refs/../../HEAD`,
      '/git/nope.git/info/refs',
    ];
    for (const path of paths) {
      const res = await rawGet(hiy.url, `${path}?service=git-upload-pack`, { authorization: auth });
      assert.ok([400, 403, 404, 405].includes(res.status), `${path} → ${res.status}`);
      assert.ok(!res.body.includes('[core]') && !res.body.includes('#!/'), `${path} served no repository file`);
    }
    // Only the smart protocol: the dumb one would serve files from the repo folder.
    const dumb = await rawGet(hiy.url, `/git/${APP}.git/info/refs`, { authorization: auth });
    assert.equal(dumb.status, 403);
    for (const path of [`../${APP}`, `${APP}.git/../../x`, '%2e%2e%2fsecrets']) {
      const r = await run('git', ['ls-remote', `http://git:${hiy.token}@${new URL(hiy.url).host}/git/${path}.git`], { timeoutMs: 30_000 });
      assert.notEqual(r.code, 0, `git ls-remote ${path}: ${r.stdout}`);
    }
  });

  test('nothing ran and nothing changed', async () => {
    assert.ok(marker.clean(), 'no injected command ran');
    assert.equal(await snapshot(hiy), baseline);
    assert.doesNotMatch(hiy.output(), /"level":50/, 'no unhandled error in the server log');
  });
});
