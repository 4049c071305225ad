// infra/fail2ban/hiy-filter.conf against log lines a real hiy server writes: a wrong API token
// (directly and through Caddy with a forged X-Forwarded-For), a wrong git password with the real
// git client, a wrong dashboard password. fail2ban-regex must find every one, with the right
// address, and nothing in the lines of successful requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { findRootCert } from '../../harness/app-http.js';

const FILTER = join(repoRoot(), 'infra', 'fail2ban', 'hiy-filter.conf');
const hasRegex = spawnSync('fail2ban-regex', ['--version'], { encoding: 'utf8' }).status === 0;
const SKIP = hasRegex ? false : 'fail2ban-regex is not installed (infra/install.sh installs fail2ban)';
const APP = `f2b-${randomBytes(3).toString('hex')}`;

interface RegexResult { matched: number; total: number; ips: string[]; raw: string }

function fail2banRegex(lines: string[]): RegexResult {
  const dir = mkdtempSync(join(tmpdir(), 'hiy-f2b-'));
  try {
    const log = join(dir, 'hiy.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    const raw = execFileSync('fail2ban-regex', ['-v', log, FILTER], { encoding: 'utf8', timeout: 60_000 });
    const m = /Lines: (\d+) lines, \d+ ignored, (\d+) matched/.exec(raw);
    assert.ok(m, raw);
    // -v lists each match as "|      <address>  <date>".
    const ips = [...raw.matchAll(/^\|\s+([0-9a-fA-F:.]+)\s+\w{3} \w{3} /gm)].map((x) => x[1]!);
    return { total: Number(m[1]), matched: Number(m[2]), ips, raw };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const authLines = (out: string): string[] => out.split('\n').filter((l) => l.includes('"event":"auth_failed"'));

describe(`fail2ban filter matches hiy's auth failures${SKIP ? ` (skipped: ${SKIP})` : ''}`, { skip: SKIP, timeout: 300_000 }, () => {
  let hiy: HiyProcess;

  before(async () => {
    hiy = await startHiy({ startTimeoutMs: 60_000 });
    assert.equal((await apiClient(hiy)('POST', '/apps', { name: APP })).status, 201);
  });

  after(async () => {
    await hiy?.stop();
  });

  test('successful requests write no auth_failed line (git asks once without credentials first)', async () => {
    const before = authLines(hiy.output()).length;
    assert.equal((await apiClient(hiy)('GET', '/apps')).status, 200);
    const ls = await run('git', ['ls-remote', remoteUrl(hiy.url, APP, hiy.token)]);
    assert.equal(ls.code, 0, ls.stderr);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(authLines(hiy.output()).length, before);
  });

  test('a wrong API token, a wrong git password and a wrong dashboard password are each found by fail2ban-regex', async (t) => {
    const api = apiClient(hiy);
    assert.equal((await api('GET', '/apps', undefined, { token: 'hiy_wrong-token-0000000000000000000000000000000' })).status, 401);

    const git = await run('git', ['ls-remote', remoteUrl(hiy.url, APP, 'not-the-token')]);
    assert.notEqual(git.code, 0);

    // Through Caddy, with a forged X-Forwarded-For: the address logged must be the real peer.
    const port = hiy.env.HIY_HTTPS_PORT!;
    const ca = findRootCert(hiy.dataDir);
    let viaCaddy = false;
    if (ca) {
      const r = await run('curl', ['-sS', '--max-time', '15', '--cacert', ca, '--resolve', `hiy.localhost:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_code}',
        '-H', 'authorization: Bearer hiy_forged-0000000000000000000000000000000000', '-H', 'x-forwarded-for: 192.0.2.99', `https://hiy.localhost:${port}/api/v1/apps`]);
      viaCaddy = r.stdout === '401';
    }

    let dashboard = false;
    const set = await api('PUT', '/dashboard/password', { password: 'correct horse battery staple' });
    if (set.status === 200) {
      const page = await fetch(`${hiy.url}/login`);
      const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const token = /name="_login" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
      const res = await fetch(`${hiy.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: hiy.url },
        body: new URLSearchParams({ _login: token, password: 'wrong password!', next: '/' }).toString(),
      });
      assert.equal(res.status, 401, 'the dashboard refuses the wrong password');
      dashboard = true;
    } else {
      t.diagnostic(`no dashboard in this build (PUT /dashboard/password: ${set.status}); dashboard lines not checked`);
    }
    t.diagnostic(`checked through Caddy with a forged X-Forwarded-For: ${viaCaddy}; dashboard: ${dashboard}`);
    await new Promise((r) => setTimeout(r, 300));

    const lines = authLines(hiy.output());
    const surfaces = lines.map((l) => (JSON.parse(l) as { surface: string }).surface);
    assert.ok(surfaces.includes('api'), lines.join('\n'));
    assert.ok(surfaces.includes('git'), lines.join('\n'));
    if (dashboard) assert.ok(surfaces.includes('dashboard'), lines.join('\n'));
    assert.equal(surfaces.filter((s) => s === 'api').length, viaCaddy ? 2 : 1);
    assert.equal(surfaces.filter((s) => s === 'git').length, 1, 'one line per rejected git credential');

    // Every line hiy wrote (successful requests, start-up, these failures) through the filter.
    const all = hiy.output().split('\n').filter((l) => l.startsWith('{'));
    const res = fail2banRegex(all);
    assert.equal(res.matched, lines.length, res.raw);
    assert.ok(res.total > res.matched, 'other lines were tried and missed');
    assert.deepEqual([...new Set(res.ips)], ['127.0.0.1'], `every failure is from this machine's loopback:\n${res.raw}`);
    assert.ok(!res.raw.includes('192.0.2.99'), 'a forged X-Forwarded-For is never the banned address');
  });

  test('addresses from other clients are taken exactly (IPv4, IPv4-mapped IPv6, IPv6), forged JSON inside a message is not', () => {
    const time = Date.now();
    const lines = [
      JSON.stringify({ level: 40, time, svc: 'hiy', event: 'auth_failed', surface: 'api', ip: '203.0.113.7', msg: 'hiy auth failure' }),
      JSON.stringify({ level: 40, time, svc: 'hiy', event: 'auth_failed', surface: 'git', ip: '::ffff:198.51.100.4', msg: 'hiy auth failure' }),
      JSON.stringify({ level: 40, time, svc: 'hiy', event: 'auth_failed', surface: 'dashboard', ip: '2001:db8::1', msg: 'hiy auth failure' }),
      JSON.stringify({ level: 30, time, svc: 'hiy', msg: '"event":"auth_failed","surface":"api","ip":"192.0.2.1"' }),
      JSON.stringify({ level: 40, time, svc: 'hiy', event: 'auth_throttled', surface: 'dashboard', ip: '192.0.2.2', msg: 'throttled' }),
    ];
    const res = fail2banRegex(lines);
    assert.equal(res.matched, 3, res.raw);
    assert.deepEqual(res.ips, ['203.0.113.7', '198.51.100.4', '2001:db8::1']);
  });
});
