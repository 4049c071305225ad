/**
 * Credentials at every entry point, each used where it does not belong: missing, wrong, revoked,
 * too long, in the wrong place, or made for another purpose (the pre-receive hook's internal token
 * on the API, an API token on /internal, a dashboard session on the API, a session cookie without
 * its CSRF token or from another origin, the hook token through Caddy). Each is refused with a
 * clear status and message and changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { findRootCert } from '../../harness/app-http.js';
import { hookToken, signIn, snapshot, type Session } from './support.js';

const APP = `sec-tok-${randomBytes(3).toString('hex')}`;
const ZERO_SHA = '0'.repeat(40);

describe('tokens and sessions used where they do not belong are refused', { timeout: 180_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let session: Session;
  let baseline: string;
  let wc: WorkingCopy;

  before(async () => {
    hiy = await startHiy();
    api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080 })).status, 201);
    session = await signIn(hiy, 'correct horse battery staple');
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    baseline = await snapshot(hiy);
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
  });

  test('API: missing, wrong, too long, malformed and revoked tokens get 401 with a reason', async () => {
    const created = await api('POST', '/tokens', { name: 'to-revoke' });
    assert.equal(created.status, 201);
    const revoked = created.body.value as string;
    assert.equal((await api('GET', '/apps', undefined, { token: revoked })).status, 200, 'the token works before it is revoked');
    assert.equal((await api('DELETE', `/tokens/${created.body.token.id}`)).status, 200);
    baseline = await snapshot(hiy);

    const cases: [string, Record<string, string>, RegExp][] = [
      ['missing', {}, /missing API token/],
      ['wrong', { authorization: `Bearer hiy_${'A'.repeat(43)}` }, /invalid or revoked/],
      ['revoked', { authorization: `Bearer ${revoked}` }, /invalid or revoked/],
      ['too long', { authorization: `Bearer ${hiy.token}${'x'.repeat(600)}` }, /invalid or revoked/],
      ['token as basic user name', { authorization: `Basic ${Buffer.from(`${hiy.token}:`).toString('base64')}` }, /invalid or revoked|missing/],
      ['other scheme', { authorization: `Token ${hiy.token}` }, /missing API token/],
      ['in a query string', {}, /missing API token/],
    ];
    for (const [name, headers, message] of cases) {
      const path = name === 'in a query string' ? `/api/v1/apps?token=${hiy.token}&access_token=${hiy.token}` : '/api/v1/apps';
      const res = await fetch(`${hiy.url}${path}`, { headers });
      const body = await res.json() as { error: { code: string; message: string } };
      assert.equal(res.status, 401, name);
      assert.equal(body.error.code, 'unauthorized', name);
      assert.match(body.error.message, message, name);
    }
    assert.match(hiy.output(), /"event":"auth_failed","surface":"api"/, 'failures are logged for fail2ban');
  });

  test('a token for another purpose: the hook token and a dashboard session are no API credentials', async () => {
    const hook = hookToken(hiy.dataDir);
    const creds: Record<string, string>[] = [{ authorization: `Bearer ${hook}` }, { cookie: session.cookie }, { cookie: session.cookie, 'x-csrf-token': session.csrf }, { authorization: `Bearer ${session.cookie.split('=')[1]}` }];
    for (const headers of creds) {
      const res = await fetch(`${hiy.url}/api/v1/apps`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sneaky' }) });
      assert.equal(res.status, 401, JSON.stringify(Object.keys(headers)));
    }
  });

  test('/internal: an API token, no token, and the right token through Caddy are all refused', async () => {
    const q = `?app=${APP}&ref=refs/heads/main&sha=${'a'.repeat(40)}`;
    const creds: Record<string, string>[] = [{}, { authorization: `Bearer ${hiy.token}` }, { authorization: `Bearer ${hookToken(hiy.dataDir)}x` }];
    for (const headers of creds) {
      for (const path of ['/internal/push', '/internal/deploy']) {
        const res = await fetch(`${hiy.url}${path}${q}`, { method: 'POST', headers, body: '' });
        assert.equal(res.status, 403, `${path} with ${JSON.stringify(Object.keys(headers))}`);
        assert.equal(await res.text(), 'forbidden\n');
      }
    }
    // The hook token only counts on the direct loopback listener: never through the proxy.
    const ca = findRootCert(hiy.dataDir);
    assert.ok(ca, 'Caddy has its local CA');
    const port = hiy.env.HIY_HTTPS_PORT!;
    const r = await run('curl', ['-sS', '--max-time', '15', '--cacert', ca, '--resolve', `hiy.localhost:${port}:127.0.0.1`, '-X', 'POST',
      '-H', `authorization: Bearer ${hookToken(hiy.dataDir)}`, '-w', '\n%{http_code}', `https://hiy.localhost:${port}/internal/push${q}`]);
    assert.equal(r.stdout.trim().split('\n').pop(), '403', `through Caddy: ${r.stdout} ${r.stderr}`);
    // The right token on the direct listener answers (so the refusals above are not a dead endpoint).
    const ok = await fetch(`${hiy.url}/internal/push${q.replace('a'.repeat(40), ZERO_SHA)}`, { method: 'POST', headers: { authorization: `Bearer ${hookToken(hiy.dataDir)}` } });
    assert.equal(ok.status, 200);
  });

  test('git: a revoked or wrong token cannot push or even list refs', async () => {
    const created = await api('POST', '/tokens', { name: 'git-revoked' });
    const token = created.body.value as string;
    await api('DELETE', `/tokens/${created.body.token.id}`);
    baseline = await snapshot(hiy);
    for (const t of [token, hookToken(hiy.dataDir), 'hiy_wrong']) {
      const ls = await run('git', ['ls-remote', remoteUrl(hiy.url, APP, t)], { timeoutMs: 30_000 });
      assert.notEqual(ls.code, 0);
      assert.match(ls.stderr, /Authentication failed|401/);
      const push = await wc.push(remoteUrl(hiy.url, APP, t));
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /Authentication failed|401/);
    }
    const refs = await run('git', ['--git-dir', join(hiy.dataDir, 'repos', `${APP}.git`), 'for-each-ref']);
    assert.equal(refs.stdout, '', 'no ref was written');
  });

  test('dashboard: a session cookie without CSRF token, with a forged one or from another origin changes nothing', async () => {
    const form = (csrf?: string) => new URLSearchParams({ ...(csrf === undefined ? {} : { _csrf: csrf }), key: 'EVIL', value: 'x' }).toString();
    const attempts: [string, Record<string, string>, string][] = [
      ['no token', { origin: hiy.url }, form()],
      ['forged token', { origin: hiy.url }, form('forged')],
      ['right token, foreign origin', { origin: 'https://evil.example' }, form(session.csrf)],
      ['right token, no origin, cross-site fetch', { 'sec-fetch-site': 'cross-site' }, form(session.csrf)],
      ['token of another session', { origin: hiy.url }, form('x'.repeat(43))],
    ];
    for (const [name, headers, body] of attempts) {
      const res = await fetch(`${hiy.url}/apps/${APP}/env/set`, {
        method: 'POST', redirect: 'manual', body,
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
      assert.equal(res.status, 403, name);
      assert.match(await res.text(), /security token|dashboard’s own pages/, name);
    }
    // An API token is not a dashboard credential either.
    const bearer = await fetch(`${hiy.url}/apps/${APP}/env`, { redirect: 'manual', headers: { authorization: `Bearer ${hiy.token}` } });
    assert.equal(bearer.status, 303);
    assert.match(bearer.headers.get('location') ?? '', /^\/login/);
    const fake = await fetch(`${hiy.url}/`, { redirect: 'manual', headers: { cookie: `hiy_session=${hiy.token}` } });
    assert.equal(fake.status, 303);
    assert.equal(await snapshot(hiy), baseline, 'no env var was set');
    // The same request with the token and the right origin works: the refusals above are real.
    const good = await fetch(`${hiy.url}/apps/${APP}/env/set`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ _csrf: session.csrf, key: 'GOOD', value: 'yes', restart: 'false' }).toString(),
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: hiy.url },
    });
    assert.ok(good.status < 400, `the genuine form post → ${good.status} ${await good.text()}`);
    assert.deepEqual(Object.keys((await api('GET', `/apps/${APP}/env`)).body.env), ['GOOD']);
  });
});
