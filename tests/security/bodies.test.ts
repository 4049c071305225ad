/**
 * Oversized and slow requests. Oversized bodies (declared or chunked) get 413 at every endpoint
 * that reads one. Slow ones (slowloris: headers or a body trickling in a byte at a time) must not
 * hold a connection forever: the server cuts them within its deadlines, with or without a valid
 * credential, while everyone else keeps being answered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { rawHttp, snapshot } from './support.js';

const APP = `sec-body-${randomBytes(3).toString('hex')}`;
/** hiy's deadlines (src/http/server.ts) plus Node's check interval and slack for a busy machine. */
const CUT_WITHIN_MS = 45_000;

interface Trickle {
  /** ms from the first byte until the server closed the connection, or undefined if it never did. */
  closedAfter: Promise<number | undefined>;
  stop(): void;
}

/** Sends `head`, then one byte of `drip` every `everyMs`, until the server closes or `maxMs` pass. */
function trickle(base: string, head: string, everyMs: number, maxMs: number): Trickle {
  const u = new URL(base);
  const sock: Socket = connect(Number(u.port), u.hostname);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  const closedAfter = new Promise<number | undefined>((resolve) => {
    sock.on('error', () => undefined);
    sock.on('data', () => undefined);
    sock.on('close', () => { clearInterval(timer); clearTimeout(giveUp); resolve(Date.now() - started); });
    giveUp = setTimeout(() => { clearInterval(timer); resolve(undefined); sock.destroy(); }, maxMs);
  });
  sock.write(head);
  timer = setInterval(() => { if (!sock.destroyed) sock.write('a'); }, everyMs);
  return { closedAfter, stop: () => { clearInterval(timer); sock.destroy(); } };
}

describe('oversized and slow requests', { timeout: 240_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let baseline: string;

  before(async () => {
    hiy = await startHiy();
    api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: APP })).status, 201);
    baseline = await snapshot(hiy);
  });

  after(async () => { await hiy?.stop(); });

  test('oversized bodies get 413, declared or chunked, on the API and the dashboard', async () => {
    const big = JSON.stringify({ name: 'x', pad: 'y'.repeat(300 * 1024) });
    const declared = await api('POST', '/apps', undefined, { raw: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, 'payload_too_large');
    // Chunked: no content-length to refuse up front, so the count while reading must stop it.
    const chunked = await rawHttp(hiy.url, [
      'POST /api/v1/apps HTTP/1.1', `host: ${new URL(hiy.url).host}`, `authorization: Bearer ${hiy.token}`,
      'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '', '',
    ].join('\r\n') + Array.from({ length: 40 }, () => `2000\r\n${'z'.repeat(0x2000)}\r\n`).join('') + '0\r\n\r\n');
    assert.equal(chunked.status, 413);
    // Raw, on its own connection: the server closes a connection whose body it refused, and a
    // pooled fetch connection would make the next test request fail instead.
    const form = `password=${'p'.repeat(2 * 1024 * 1024)}`;
    const dash = await rawHttp(hiy.url, `POST /login HTTP/1.1\r\nhost: ${new URL(hiy.url).host}\r\norigin: ${hiy.url}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${form.length}\r\nconnection: close\r\n\r\n${form}`);
    assert.equal(dash.status, 413);
    assert.equal(await snapshot(hiy), baseline);
  });

  test('slow headers and slow bodies are cut off while the server keeps answering', async () => {
    const host = new URL(hiy.url).host;
    const maxMs = CUT_WITHIN_MS + 15_000;
    const attacks: [string, Trickle][] = [
      ['slow headers', trickle(hiy.url, `GET /api/v1/health HTTP/1.1\r\nhost: ${host}\r\nx-slow: `, 1000, maxMs)],
      ['slow body with a valid token', trickle(hiy.url, `POST /api/v1/apps HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${hiy.token}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`, 1000, maxMs)],
      ['slow body to the sign-in form', trickle(hiy.url, `POST /login HTTP/1.1\r\nhost: ${host}\r\norigin: ${hiy.url}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100000\r\n\r\n`, 1000, maxMs)],
      ['slow body after a 401 (git)', trickle(hiy.url, `POST /git/${APP}.git/git-receive-pack HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100000\r\n\r\n`, 1000, maxMs)],
      ['slow body after a 404 (webhook)', trickle(hiy.url, `POST /hooks/github/${APP} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100000\r\n\r\n`, 1000, maxMs)],
      ['slow body after a 403 (internal)', trickle(hiy.url, `POST /internal/deploy?app=${APP} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100000\r\n\r\n`, 1000, maxMs)],
    ];
    try {
      // While the attacks run, the server answers others promptly.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        const t = Date.now();
        assert.equal((await api('GET', '/apps')).status, 200);
        assert.ok(Date.now() - t < 10_000, 'the API answered during the attack');
      }
      const results = await Promise.all(attacks.map(async ([name, a]) => [name, await a.closedAfter] as const));
      const slow = results.filter(([, ms]) => ms === undefined || ms > CUT_WITHIN_MS);
      assert.deepEqual(slow.map(([name, ms]) => `${name}: ${ms === undefined ? 'never closed' : `closed only after ${ms} ms`}`), []);
    } finally {
      for (const [, a] of attacks) a.stop();
    }
    assert.equal(await snapshot(hiy), baseline);
  });
});
