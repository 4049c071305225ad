import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { run, WorkingCopy } from '../../harness/git.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { repoRoot } from '../../harness/paths.js';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { curlThroughCaddy, runCli } from './e2e-tools.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from './fake-github.js';
import { deliver, githubHeaders, pingPayload, pushPayload, ZERO, type DeliveryAnswer } from './github-delivery.js';

// GitHub push → hiy deploy, end to end: a real hiy process, real git on both sides (a git
// smart-HTTP stand-in for GitHub on loopback), real Docker, deliveries signed as GitHub signs them.

const APP = `wh-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pair of free ports for the app's slots (parallel test files must not share 20000/20001). */
async function freePortPair(): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  for (;;) {
    const base = 30000 + 2 * Math.floor(Math.random() * 14000);
    if ((await free(base)) && (await free(base + 1))) return base;
  }
}

describe('GitHub webhook deliveries deploy the app', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let gh: FakeGitHub;
  let upstream: FakeRepo;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  let hook: string;
  let secret: string;
  const sha: Record<string, string> = {};

  const signed = (payload: object, event = 'push', delivery?: string) => {
    const body = JSON.stringify(payload);
    return deliver(hook, body, githubHeaders(secret, body, event, delivery));
  };
  const push = (ref: string, before: string, after: string, extra: { forced?: boolean; deleted?: boolean } = {}) => pushPayload({ repo: upstream, ref, before, after, ...extra });
  const deployCount = async () => ((await api('GET', `/apps/${APP}/deploys?limit=200`)).body.deploys as unknown[]).length;
  async function waitDeploy(id: number): Promise<{ status: string; sha: string; log: string; error: string | null }> {
    for (let i = 0; i < 600; i++) {
      const d = (await api('GET', `/apps/${APP}/deploys/${id}`)).body.deploy;
      if (['success', 'failed', 'superseded'].includes(d.status)) return d;
      await sleep(200);
    }
    throw new Error(`deploy ${id} did not finish`);
  }
  async function waitIdle(): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const ds = (await api('GET', `/apps/${APP}/deploys?limit=200`)).body.deploys as { status: string }[];
      if (ds.every((d) => d.status !== 'queued' && d.status !== 'building')) return;
      await sleep(200);
    }
  }
  /** The body the current release answers with on its slot port (and through Caddy once wired). */
  async function served(): Promise<string> {
    const rel = (await api('GET', `/apps/${APP}/releases`)).body.releases.find((r: { current: boolean }) => r.current);
    const port = Number(hiy.env.HIY_SLOT_PORT_BASE) + (rel.slot === 'a' ? 0 : 1);
    return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).text();
  }
  async function commitAndPush(name: string, ref = 'main'): Promise<string> {
    wc.write('www/index.html', `hello from ${name}\n`);
    sha[name] = await wc.commit(name);
    const r = await wc.push(upstream.bareDir, `HEAD:refs/heads/${ref}`);
    assert.equal(r.code, 0, r.stderr);
    return sha[name]!;
  }

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    gh = await startFakeGitHub();
    upstream = await gh.createRepo(`acme/${APP}`);
    hiy = await startHiy({ env: { HIY_SLOT_PORT_BASE: String(await freePortPair()) } });
    api = apiClient(hiy);
    hook = `${hiy.url}/hooks/github/${APP}`;
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    sha.initial = (await wc.git('rev-parse', 'HEAD')).stdout.trim();
    await commitAndPush('v1');
  });

  after(async () => {
    await hiy?.stop();
    await gh?.close();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('malicious repo URLs are refused when the app is created or changed', async () => {
    for (const repo_url of ['file:///etc', '/srv/git/x.git', 'ext::sh -c touch% /tmp/pwned', 'ssh://-oProxyCommand=touch%20x/y', '-uhttps://github.com/x',
      '--upload-pack=touch /tmp/x', 'https://tok@github.com/x.git', 'http://github.com/x.git', 'https://github.com\\@evil.example/x.git', 'https://github.com/x.git?x=1']) {
      const res = await api('POST', '/apps', { name: APP, repo_url });
      assert.equal(res.status, 400, `${repo_url}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /repo_url must be an https:\/\/ URL/);
    }
    const created = await api('POST', '/apps', { name: APP, repo_url: upstream.cloneUrl, port: 8080 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await api('PATCH', `/apps/${APP}`, { repo_url: 'file:///etc' })).status, 400);
  });

  test('the webhook secret is made once, shown once, and the settings say what to enter on GitHub', async () => {
    assert.equal((await api('GET', `/apps/${APP}/webhook`)).body.webhook.configured, false);
    assert.equal((await deliver(hook, '{}', githubHeaders('x', '{}', 'ping'))).status, 404, 'no secret yet: not found');
    const made = await api('POST', `/apps/${APP}/webhook`, {});
    assert.equal(made.status, 201, JSON.stringify(made.body));
    secret = made.body.webhook.secret;
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(made.body.webhook.payload_url, `https://hiy.localhost:${hiy.env.HIY_HTTPS_PORT}/hooks/github/${APP}`);
    assert.equal(made.body.webhook.content_type, 'application/json');
    assert.deepEqual(made.body.webhook.events, ['push']);
    const shown = await api('GET', `/apps/${APP}/webhook`);
    assert.equal(shown.body.webhook.configured, true);
    assert.ok(!JSON.stringify(shown.body).includes(secret), 'GET never shows the secret');
    assert.equal((await api('POST', `/apps/${APP}/webhook`, {})).status, 409, 'no silent rotation');
    const cli = await runCli(hiy, ['webhook', APP]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`Payload URL +https://hiy\\.localhost:\\d+/hooks/github/${APP}`));
    assert.match(cli.stdout, /Content type +application\/json/);
    assert.ok(!cli.stdout.includes(secret));
  });

  test('ping answers 200 and queues nothing', async () => {
    const res = await signed(pingPayload(upstream), 'ping');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await deployCount(), 0);
  });

  test('a signed push deploys exactly the after sha, answering within a second', async (t) => {
    const res = await signed(push('refs/heads/main', sha.initial!, sha.v1!));
    t.diagnostic(`answered ${res.status} in ${res.ms.toFixed(1)} ms`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.ok(res.ms < 1000, `answered in ${res.ms.toFixed(0)} ms`);
    const d = await waitDeploy(res.body.deploy_id);
    assert.equal(d.status, 'success', d.log);
    assert.equal(d.sha, sha.v1);
    assert.match(d.log, new RegExp(`Fetching ${sha.v1!.slice(0, 7)} from ${upstream.cloneUrl}`));
    assert.equal(await served(), 'hello from v1\n');
    const ref = await run('git', ['--git-dir', join(hiy.dataDir, 'repos', `${APP}.git`), 'rev-parse', 'refs/heads/main']);
    assert.equal(ref.stdout.trim(), sha.v1, 'the mirror\'s branch moved to the pushed sha');
  });

  test('deliveries reach hiy through Caddy at hiy.<domain>, and the app answers through Caddy', async () => {
    const body = JSON.stringify(pingPayload(upstream));
    const ping = await curlThroughCaddy(hiy, 'hiy', `/hooks/github/${APP}`, { body, headers: githubHeaders(secret, body, 'ping') });
    const app = await curlThroughCaddy(hiy, APP);
    // hiy starts and routes Caddy itself: nothing on HIY_HTTPS_PORT is a broken proxy, and fails.
    assert.equal(ping.notListening, false, `nothing listens on HIY_HTTPS_PORT ${hiy.env.HIY_HTTPS_PORT}: Caddy did not start or was not routed`);
    assert.equal(ping.status, '200', JSON.stringify(ping));
    assert.match(ping.body, /"outcome":"ping"/);
    assert.equal(app.status, '200', JSON.stringify(app));
    assert.equal(app.body, 'hello from v1\n');
  });

  test('a redelivered push does not deploy twice', async () => {
    const body = JSON.stringify(push('refs/heads/main', sha.initial!, sha.v1!));
    const headers = githubHeaders(secret, body, 'push');
    const before = await deployCount();
    const first = await deliver(hook, body, headers);
    assert.equal(first.status, 202);
    await waitDeploy(first.body.deploy_id);
    const again = await deliver(hook, body, headers);
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, 'duplicate');
    assert.equal(await deployCount(), before + 1);
  });

  test('bad, missing, sha1-only and wrong-length signatures get 401 and queue nothing', async () => {
    const before = await deployCount();
    const body = JSON.stringify(push('refs/heads/main', sha.v1!, sha.v1!));
    const good = githubHeaders(secret, body, 'push');
    const variants: [string, Record<string, string>][] = [
      ['another secret', githubHeaders('not-the-secret', body, 'push')],
      ['missing', Object.fromEntries(Object.entries(good).filter(([k]) => !k.startsWith('x-hub-signature')))],
      ['sha1 only', Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'x-hub-signature-256'))],
      ['too short', { ...good, 'x-hub-signature-256': good['x-hub-signature-256']!.slice(0, -2) }],
      ['too long', { ...good, 'x-hub-signature-256': `${good['x-hub-signature-256']}00` }],
      ['sha1 value in the sha256 header', { ...good, 'x-hub-signature-256': good['x-hub-signature']!.replace('sha1=', 'sha256=') }],
    ];
    for (const [what, headers] of variants) assert.equal((await deliver(hook, body, headers)).status, 401, what);
    assert.equal((await deliver(hook, `${body} `, good)).status, 401, 'body changed after signing');
    assert.equal(await deployCount(), before);
    const outcomes = (await api('GET', `/apps/${APP}/webhook/deliveries`)).body.deliveries.slice(0, 7).map((d: { outcome: string }) => d.outcome);
    assert.ok(outcomes.every((o: string) => o.startsWith('rejected:')), outcomes.join(', '));
  });

  test('other branches, tags, deletions and other repositories never deploy', async () => {
    const before = await deployCount();
    const feature = await commitAndPush('feature', 'feature');
    await wc.git('reset', '-q', '--hard', sha.v1!);
    const cases: [string, Promise<DeliveryAnswer>, number, RegExp][] = [
      ['other branch', signed(push('refs/heads/feature', ZERO, feature)), 200, /ignored: branch feature/],
      ['tag', signed(push('refs/tags/v1.0.0', ZERO, sha.v1!)), 200, /ignored: tag/],
      ['deletion', signed(push('refs/heads/main', sha.v1!, ZERO, { deleted: true })), 200, /ignored: branch deleted/],
      ['wrong repository', signed(pushPayload({ repo: { ...upstream, fullName: 'evil/fork', cloneUrl: `${gh.base}/evil/fork.git`, htmlUrl: `${gh.base}/evil/fork` }, ref: 'refs/heads/main', before: sha.v1!, after: feature })), 403, /rejected: repository "evil\/fork"/],
    ];
    for (const [what, answer, status, outcome] of cases) {
      const res = await answer;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.outcome, outcome, what);
      if (status >= 400) assert.equal(res.body.error.code, 'forbidden', `${what}: refusals in the API's error shape`);
    }
    assert.equal(await deployCount(), before);
    assert.equal(await served(), 'hello from v1\n');
  });

  test('an oversized body gets 413 and queues nothing', async () => {
    const before = await deployCount();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(hook, { method: 'POST', headers: { ...githubHeaders(secret, '{}', 'push'), 'content-length': String(25 * 1024 * 1024 + 1) } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.write('{"ref":');
    });
    assert.equal(status, 413);
    assert.equal(await deployCount(), before);
  });

  test('two quick pushes deploy the newest; an older delivery arriving late does not', async (t) => {
    const v2 = await commitAndPush('v2');
    const v3 = await commitAndPush('v3');
    // Keep the queue busy so both deliveries wait behind a running deploy.
    assert.equal((await api('POST', `/apps/${APP}/restart`, {})).status, 202);
    const a = await signed(push('refs/heads/main', sha.v1!, v2));
    const b = await signed(push('refs/heads/main', v2, v3));
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    t.diagnostic(`with the queue busy: answered in ${a.ms.toFixed(1)} and ${b.ms.toFixed(1)} ms`);
    assert.ok(a.ms < 1000 && b.ms < 1000, `answered in ${a.ms.toFixed(0)} and ${b.ms.toFixed(0)} ms with the queue busy`);
    const [da, db] = [await waitDeploy(a.body.deploy_id), await waitDeploy(b.body.deploy_id)];
    assert.equal(da.status, 'superseded', da.log);
    assert.equal(db.status, 'success', db.log);
    await waitIdle();
    assert.equal(await served(), 'hello from v3\n');

    const late = await signed(push('refs/heads/main', sha.v1!, v2));
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.match(late.body.outcome, new RegExp(`ignored: older than main at ${v3.slice(0, 7)}`));
    assert.equal(await served(), 'hello from v3\n');
  });

  test('hiy deploy of an app with a repo_url fetches the branch head first (with the repo token, never shown)', async () => {
    const token = `github_pat_${randomBytes(16).toString('hex')}`;
    const set = await runCli(hiy, ['repo-token:set', APP], `${token}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!JSON.stringify((await api('GET', `/apps/${APP}/webhook`)).body).includes(token));
    const v4 = await commitAndPush('v4');
    const seen = gh.requests.length;
    const res = await api('POST', `/apps/${APP}/deploys`, {});
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const d = await waitDeploy(res.body.deploy.id);
    assert.equal(d.status, 'success', d.log);
    assert.equal(d.sha, v4);
    assert.equal(await served(), 'hello from v4\n');
    assert.ok(gh.requests.slice(seen).some((r) => r.authorization === `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`), 'the token went as a header');
    assert.ok(!hiy.output().includes(token) && !hiy.output().includes(secret), 'neither the token nor the secret is in the server log');
    for (const file of ['hiy.db', 'hiy.db-wal']) {
      const bytes = existsSync(join(hiy.dataDir, file)) ? readFileSync(join(hiy.dataDir, file)) : Buffer.alloc(0);
      assert.ok(!bytes.includes(token) && !bytes.includes(secret), `${file} holds neither in plaintext`);
    }
    assert.equal((await api('DELETE', `/apps/${APP}/repo-token`)).body.repo_token, false);
    assert.equal((await api('DELETE', `/apps/${APP}/repo-token`)).status, 404, 'a DELETE of something gone is 404, as everywhere');
  });

  test('a malicious repo_url that reached the database is refused at fetch time', async () => {
    const db = new SQLite(join(hiy.dataDir, 'hiy.db'));
    try {
      db.prepare('update apps set repo_url = ? where name = ?').run('ext::sh -c touch% /tmp/hiy-pwned', APP);
    } finally {
      db.close();
    }
    const before = await deployCount();
    const res = await api('POST', `/apps/${APP}/deploys`, {});
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error.message, /repo_url must be an https:\/\/ URL/);
    assert.equal(await deployCount(), before);
  });

  test('a rotated secret replaces the old one at once', async () => {
    const old = secret;
    const rotated = await runCli(hiy, ['webhook', APP, '--rotate', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    secret = JSON.parse(rotated.stdout).webhook.secret;
    assert.notEqual(secret, old);
    const body = JSON.stringify(pingPayload(upstream));
    assert.equal((await deliver(hook, body, githubHeaders(old, body, 'ping'))).status, 401);
    assert.equal((await deliver(hook, body, githubHeaders(secret, body, 'ping'))).status, 200);
    const list = await runCli(hiy, ['webhook:deliveries', APP]);
    assert.match(list.stdout, /deployed #\d+/);
    assert.match(list.stdout, /duplicate/);
    assert.match(list.stdout, /rejected: bad signature/);
  });
});

