/**
 * Dashboard sign-in throttling (docs/security.md, "Credentials"; docs/dashboard.md). Requests
 * carry X-Forwarded-For as the local Caddy sends it (hiy believes it only from loopback), so one
 * real server sees many client addresses:
 * - an IPv6 client is counted by its /64: after the free failures, any other address of that
 *   /64 is locked too (before, each of its 2^64 addresses got fresh tries);
 * - a global budget (20 failures from whatever addresses within 15 minutes) pauses sign-in for
 *   new addresses, even with the right password, while the operator can still sign in from an
 *   address that signed in before, and from the box itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

const PASSWORD = 'correct horse battery staple';

/** One sign-in as the client `ip` (null: straight from the box, no proxy header); resolves with the status. */
async function signIn(url: string, ip: string | null, password: string): Promise<{ status: number; body: string }> {
  const xff: Record<string, string> = ip === null ? {} : { 'x-forwarded-for': ip };
  const page = await fetch(`${url}/login`, { headers: xff });
  const login = /hiy_login=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')?.[1];
  const field = /name="_login" value="([^"]+)"/.exec(await page.text())?.[1];
  assert.ok(login && field, 'the login page carries its form token');
  const res = await fetch(`${url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { ...xff, 'content-type': 'application/x-www-form-urlencoded', origin: url, cookie: `hiy_login=${login}` },
    body: new URLSearchParams({ _login: field, password, next: '/' }).toString(),
  });
  return { status: res.status, body: await res.text() };
}

describe('dashboard sign-in throttling: IPv6 /64, a global budget, the operator still gets in', { timeout: 240_000 }, () => {
  let hiy: HiyProcess;

  before(async () => {
    hiy = await startHiy();
    assert.equal((await apiClient(hiy)('PUT', '/dashboard/password', { password: PASSWORD })).status, 200);
  });
  after(async () => { await hiy?.stop(); });

  test('an IPv6 client is one /64: the sixth failure locks every address in it, not the next /64', async () => {
    for (let i = 1; i <= 6; i++) assert.equal((await signIn(hiy.url, `2001:db8:1:2::${i}`, 'wrong password!')).status, 401, `failure ${i}`);
    const same = await signIn(hiy.url, '2001:db8:1:2:ffff:ffff:ffff:fffe', PASSWORD);
    assert.equal(same.status, 429, 'another address of the same /64, even with the right password');
    assert.match(same.body, /Too many failed sign-ins from your address/);
    assert.equal((await signIn(hiy.url, '2001:db8:1:3::1', 'wrong password!')).status, 401, 'the next /64 is its own client');
  });

  test('past 20 failures from many addresses new addresses are paused; a known address and the box itself sign in', async () => {
    // The operator signed in from home before the attack.
    assert.equal((await signIn(hiy.url, '198.51.100.9', PASSWORD)).status, 303);
    // 7 failures so far (the /64 test); 13 more from addresses that each stay under their own limit.
    for (let i = 0; i < 13; i++) assert.equal((await signIn(hiy.url, `203.0.113.${i % 4}`, 'wrong password!')).status, 401);
    const stranger = await signIn(hiy.url, '192.0.2.77', PASSWORD);
    assert.equal(stranger.status, 429, 'a new address is paused, even with the right password');
    assert.match(stranger.body, /Sign-in is paused for new addresses/);
    assert.equal((await signIn(hiy.url, '198.51.100.9', PASSWORD)).status, 303, 'the operator\'s known address signs in');
    assert.equal((await signIn(hiy.url, null, PASSWORD)).status, 303, 'on the box itself (an SSH tunnel) sign-in works');
    assert.match(hiy.output(), /"event":"auth_throttled".*"reason":"paused"/);
  });
});
