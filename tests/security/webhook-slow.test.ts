/**
 * Slow bodies cannot starve webhook deliveries (docs/security.md, "Oversized and slow requests").
 * Before, four connections sending a byte every 2 s took all four body slots and 4 of 5 signed
 * pings answered 503, without any credential. Through the real Caddy (plain HTTP here), from
 * other loopback addresses than the pings:
 * - four trickling connections from one address, and four from four addresses: every signed ping
 *   still answers 200;
 * - one address gets at most two bodies read at once (the third: 429 at once), and hiy cuts a
 *   trickling body at the webhook body deadline (10 s, GitHub's own timeout): seen on hiy's own
 *   listener, since Caddy keeps its client's connection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { freePort } from '../../harness/ports.js';
import { githubHeaders, pingPayload } from '../webhooks/github-delivery.js';
import { sleep } from './support.js';

const APP = `sec-whs-${randomBytes(3).toString('hex')}`;

interface Trickler {
  /** The status Caddy relayed (hiy's answer, or 502 once hiy cut the body) and when, in ms after the first byte. */
  answered: Promise<{ status: string; ms: number }>;
  stop(): void;
}

/**
 * A delivery whose body arrives a byte every 2 s, from `localAddress`, to `port` (Caddy's, or
 * hiy's own listener to see what hiy answers and when it cuts: through Caddy the client keeps
 * its connection to Caddy, whose own timeouts are Caddy's business).
 */
function trickle(port: number, path: string, localAddress: string): Trickler {
  const sock: Socket = connect({ port, host: '127.0.0.1', localAddress });
  const started = performance.now();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  sock.on('error', () => undefined);
  const answered = new Promise<{ status: string; ms: number }>((resolve) => {
    const done = () => { clearInterval(timer); resolve({ status: /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 'closed', ms: performance.now() - started }); };
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); if (/\r\n\r\n/.test(text)) done(); });
    sock.on('close', done);
  });
  sock.write(`POST ${path} HTTP/1.1\r\nhost: hiy.localhost\r\ncontent-type: application/json\r\nx-github-event: ping\r\ncontent-length: 100000\r\n\r\n{`);
  timer = setInterval(() => { if (!sock.destroyed) sock.write(' '); }, 2000);
  return { answered, stop: () => { clearInterval(timer); sock.destroy(); } };
}

/** One signed ping through Caddy from 127.0.0.1; resolves with the status. */
function ping(port: number, path: string, secret: string): Promise<number> {
  const body = JSON.stringify(pingPayload({ fullName: 'me/app', bareDir: '', cloneUrl: 'http://127.0.0.1:9/me/app.git', htmlUrl: 'http://127.0.0.1:9/me/app' }));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, timeout: 15_000,
      headers: { ...githubHeaders(secret, body, 'ping'), host: 'hiy.localhost', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('ping timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('slow webhook bodies do not starve signed deliveries', { timeout: 180_000 }, () => {
  let hiy: HiyProcess;
  let secret: string;
  let port: number;
  const path = `/hooks/github/${APP}`;
  const open: Trickler[] = [];

  before(async () => {
    hiy = await startHiy({ env: { HIY_TLS: 'off' } });
    const api = apiClient(hiy);
    const repoUrl = `http://127.0.0.1:${await freePort()}/me/app.git`;
    assert.equal((await api('POST', '/apps', { name: APP, repo_url: repoUrl })).status, 201);
    secret = (await api('POST', `/apps/${APP}/webhook`, {})).body.webhook.secret;
    port = Number(hiy.env.HIY_HTTP_PORT);
    assert.equal(await ping(port, path, secret), 200, 'a ping answers through Caddy');
  });

  after(async () => {
    for (const t of open) t.stop();
    await hiy?.stop();
  });

  async function pingsWhile(tricklers: Trickler[]): Promise<number[]> {
    open.push(...tricklers);
    await sleep(1000);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(await ping(port, path, secret));
      await sleep(600);
    }
    return statuses;
  }

  test('four bodies trickling from one address straight to hiy: pings through Caddy answer 200, the third and fourth get 429, the others are cut by the 10 s deadline', async () => {
    const direct = Number(new URL(hiy.url).port);
    const tricklers = [1, 2, 3, 4].map(() => trickle(direct, path, '127.0.0.2'));
    assert.deepEqual(await pingsWhile(tricklers), [200, 200, 200, 200, 200]);
    const answers = await Promise.all(tricklers.map((t) => t.answered));
    assert.deepEqual(answers.map((a) => a.status).sort(), ['429', '429', 'closed', 'closed'], JSON.stringify(answers));
    for (const a of answers.filter((x) => x.status === 'closed')) {
      assert.ok(a.ms > 8_000 && a.ms < 16_000, `a trickling body was cut after ${(a.ms / 1000).toFixed(1)} s (deadline 10 s)`);
    }
    for (const t of tricklers) t.stop();
  });

  test('four bodies trickling through Caddy, from one address and from four: pings answer 200', async () => {
    const one = [1, 2, 3, 4].map(() => trickle(port, path, '127.0.0.3'));
    assert.deepEqual(await pingsWhile(one), [200, 200, 200, 200, 200]);
    const four = ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'].map((a) => trickle(port, path, a));
    assert.deepEqual(await pingsWhile(four), [200, 200, 200, 200, 200]);
    for (const t of [...one, ...four]) t.stop();
  });
});
