import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { insertApp, getApp } from '../../src/apps/repo.js';
import { openDatabase, type OpenedDb } from '../../src/db/open.js';
import { openSecretBox, type SecretBox } from '../../src/env/secret-box.js';
import { createBareRepos } from '../../src/git/bare-repos.js';
import type { Repos } from '../../src/git/repos.js';
import { createLogger } from '../../src/log.js';
import { fetchCommand } from '../../src/git/fetch.js';
import { RepoMirror } from '../../src/webhooks/mirror.js';
import { setRepoToken } from '../../src/webhooks/secrets.js';
import { run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from './fake-github.js';

// The mirror against a real git smart-HTTP server on loopback: what is fetched, how, and what is refused.

describe('fetching from a GitHub stand-in into the app\'s bare repo', { timeout: 120_000 }, () => {
  let dir: string;
  let gh: FakeGitHub;
  let other: FakeGitHub;
  let opened: OpenedDb;
  let box: SecretBox;
  let repos: Repos;
  let wc: WorkingCopy;
  let upstream: FakeRepo;
  const shas: string[] = [];
  const mirror = (limits?: { timeoutMs: number; maxBytes: number }) => new RepoMirror({ db: opened.db, secrets: box, repos, log: createLogger('silent'), ...(limits ? { limits } : {}) });
  const refOf = async (app: string, ref = 'refs/heads/main') => (await run('git', ['--git-dir', repos.path(app), 'rev-parse', '--verify', '--quiet', ref])).stdout.trim();
  let n = 0;
  async function makeApp(repoUrl: string): Promise<string> {
    const name = `fetch-${++n}`;
    await insertApp(opened.db, { name, repo_url: repoUrl });
    await repos.create(name);
    return name;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-fetch-test-'));
    [gh, other] = await Promise.all([startFakeGitHub(), startFakeGitHub()]);
    opened = await openDatabase(join(dir, 'hiy.db'));
    box = await openSecretBox(join(dir, 'secrets'));
    repos = createBareRepos(join(dir, 'repos'), { hookScript: join(repoRoot(), 'hooks', 'pre-receive'), endpoint: 'http://127.0.0.1:9', tokenFile: join(dir, 'none') });
    upstream = await gh.createRepo('acme/site');
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    for (const v of ['one', 'two', 'three']) {
      wc.write('www/index.html', `${v}\n`);
      shas.push(await wc.commit(v));
    }
    const pushed = await wc.push(upstream.bareDir, 'main');
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  after(async () => {
    await opened?.close();
    await gh?.close();
    await other?.close();
    wc?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a pushed sha that is not the branch tip is fetched exactly, over protocol v2, and the branch moves to it', async () => {
    const app = await makeApp(upstream.cloneUrl);
    const said: string[] = [];
    await mirror().fetchPush(await getApp(opened.db, app), shas[1]!, { forced: false, say: (l) => said.push(l) });
    assert.equal(await refOf(app), shas[1]);
    assert.equal((await run('git', ['--git-dir', repos.path(app), 'cat-file', '-e', `${shas[2]}^{commit}`])).code, 128, 'the newer commit was not fetched');
    assert.ok(gh.requests.some((r) => r.gitProtocol === 'version=2'), 'the client spoke protocol v2');
    assert.match(said.join('\n'), new RegExp(`Fetching ${shas[1]!.slice(0, 7)} from ${upstream.cloneUrl}`));
  });

  test('a server that refuses to send a single commit (v0) is asked for the branch instead', async () => {
    const app = await makeApp(upstream.cloneUrl);
    gh.protocolV2 = false;
    try {
      const said: string[] = [];
      await mirror().fetchPush(await getApp(opened.db, app), shas[0]!, { forced: false, say: (l) => said.push(l) });
      assert.match(said.join('\n'), /refused to send a single commit; fetching branch main/);
      assert.equal(await refOf(app), shas[0], 'the branch points at the pushed sha, not at the tip');
      assert.equal(await refOf(app, 'refs/hiy/upstream/main'), shas[2]);
    } finally {
      gh.protocolV2 = true;
    }
  });

  test('an older commit after a newer one is stale unless the push was forced', async () => {
    const app = await makeApp(upstream.cloneUrl);
    const m = mirror();
    const row = await getApp(opened.db, app);
    await m.fetchPush(row, shas[2]!, { forced: false });
    assert.equal(await m.isStale(row, shas[0]!), shas[2]);
    await assert.rejects(m.fetchPush(row, shas[1]!, { forced: false }), /is older than main at .*; not deployed/);
    assert.equal(await refOf(app), shas[2]);
    await m.assertCurrent(row, shas[2]!);
    await assert.rejects(m.assertCurrent(row, shas[0]!), /older than main/);
    await m.fetchPush(row, shas[1]!, { forced: true });
    assert.equal(await refOf(app), shas[1], 'a forced push may move the branch back');
  });

  test('hiy deploy fetches the branch head', async () => {
    const app = await makeApp(upstream.cloneUrl);
    assert.equal(await mirror().fetchBranchHead(await getApp(opened.db, app)), shas[2]);
    assert.equal(await refOf(app), shas[2]);
  });

  test('a private repo is fetched with the token in a header, never in argv or messages', async () => {
    const token = `github_pat_${randomBytes(20).toString('hex')}`;
    const priv = await gh.createRepo('acme/private', { token });
    assert.equal((await wc.push(priv.bareDir, 'main')).code, 0);
    const app = await makeApp(priv.cloneUrl);
    const row = await getApp(opened.db, app);

    const denied = await mirror().fetchPush(row, shas[2]!, { forced: false }).then(() => undefined, (e: Error) => e);
    assert.ok(denied, 'without a token the fetch fails');
    assert.match(denied.message, /git fetch from .*acme\/private\.git failed/);

    await setRepoToken(opened.db, box, app, 'wrong-token-value');
    const wrong = await mirror().fetchPush(row, shas[2]!, { forced: false }).then(() => undefined, (e: Error) => e);
    assert.ok(wrong);
    assert.doesNotMatch(wrong.message, /wrong-token-value/);
    assert.doesNotMatch(wrong.message, new RegExp(Buffer.from('x-access-token:wrong-token-value').toString('base64')));

    await setRepoToken(opened.db, box, app, token);
    const seen = gh.requests.length;
    await mirror().fetchPush(row, shas[2]!, { forced: false });
    assert.equal(await refOf(app), shas[2]);
    const sent = gh.requests.slice(seen);
    assert.ok(sent.length > 0 && sent.every((r) => r.authorization === `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`));
    assert.ok(sent.every((r) => !r.url.includes(token)), 'the token is not in the URL');
    const cmd = fetchCommand({ gitDir: repos.path(app), url: priv.cloneUrl, refspecs: [shas[2]!], token }, {});
    assert.ok(!cmd.args.some((a) => a.includes(token) || a.includes('extraHeader')), 'the token is not in argv');
    assert.equal(cmd.env.GIT_CONFIG_KEY_0, 'http.extraHeader');
  });

  test('a redirect (to another host) is not followed', async () => {
    gh.redirectTo = other.base;
    const mirrored = await other.createRepo('acme/site');
    assert.equal((await wc.push(mirrored.bareDir, 'main')).code, 0);
    const app = await makeApp(`${gh.base}/redirect/acme/site.git`);
    await assert.rejects(mirror().fetchPush(await getApp(opened.db, app), shas[2]!, { forced: false }), /git fetch from .* failed/);
    assert.equal(other.requests.length, 0, 'the redirect target saw no request');
    assert.equal(await refOf(app), '');
  });

  test('a server that never answers is cut off by the time limit', async () => {
    const app = await makeApp(`${gh.base}/stall/acme/site.git`);
    const started = Date.now();
    await assert.rejects(mirror({ timeoutMs: 2000, maxBytes: 1 << 30 }).fetchPush(await getApp(opened.db, app), shas[2]!, { forced: false }), /took longer than 2 s/);
    assert.ok(Date.now() - started < 6000, `stopped after ${Date.now() - started} ms`);
  });

  test('a repository larger than the size limit is cut off and leaves no partial pack', async () => {
    const big = await gh.createRepo('acme/big');
    const bwc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    try {
      writeFileSync(join(bwc.dir, 'blob.bin'), randomBytes(3 * 1024 * 1024));
      const sha = await bwc.commit('big');
      assert.equal((await bwc.push(big.bareDir, 'main')).code, 0);
      const app = await makeApp(big.cloneUrl);
      await assert.rejects(mirror({ timeoutMs: 60_000, maxBytes: 256 * 1024 }).fetchPush(await getApp(opened.db, app), sha, { forced: false }), /larger than 256 KB/);
      const packs = readdirSync(join(repos.path(app), 'objects', 'pack'));
      assert.deepEqual(packs.filter((p) => p.startsWith('tmp_')), [], packs.join(', '));
      assert.equal(await refOf(app), '');
    } finally {
      bwc.remove();
    }
  });

  test('malicious repo URLs stored in the database are refused at fetch time, before git runs', async () => {
    const canary = join(dir, 'pwned');
    const app = await makeApp(upstream.cloneUrl);
    for (const url of [
      `ext::sh -c touch% ${canary}`,
      `file://${upstream.bareDir}`,
      upstream.bareDir,
      `--upload-pack=touch ${canary}`,
      '-oProxyCommand=x',
      `ssh://-oProxyCommand=touch%20${canary}/x`,
      'http://example.com/acme/site.git',
      `http://x-access-token:t@127.0.0.1/acme/site.git`,
      'https://github.com\\@evil.example/x.git',
    ]) {
      await opened.db.updateTable('apps').set({ repo_url: url }).where('name', '=', app).execute();
      await assert.rejects(mirror().fetchPush(await getApp(opened.db, app), shas[2]!, { forced: false }), /repo_url must be an https:\/\/ URL/, url);
    }
    assert.equal(existsSync(canary), false);
  });

  test('git itself refuses other transports with the options hiy runs it with', async () => {
    const canary = join(dir, 'pwned-2');
    const target = mkdtempSync(join(tmpdir(), 'hiy-fetch-target-'));
    try {
      assert.equal((await run('git', ['init', '--bare', '--quiet', target])).code, 0);
      const { args, env } = fetchCommand({ gitDir: target, url: upstream.cloneUrl, refspecs: ['main'] }, { PATH: process.env.PATH });
      const i = args.indexOf(upstream.cloneUrl);
      for (const url of [`file://${upstream.bareDir}`, `ext::sh -c touch% ${canary}`, 'http://127.0.0.2:9/x.git', `${upstream.bareDir}`]) {
        const bypassed = [...args.slice(0, i), url, ...args.slice(i + 1)];
        const withoutHttp = url.startsWith('http:') ? bypassed.filter((a, k) => !(a === 'protocol.http.allow=always' || bypassed[k + 1] === 'protocol.http.allow=always')) : bypassed;
        const r = await run('git', withoutHttp, { env });
        assert.notEqual(r.code, 0, url);
        assert.match(r.stderr, /transport '(file|ext|http)' not allowed/, `${url}: ${r.stderr}`);
      }
      assert.equal(existsSync(canary), false);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});
