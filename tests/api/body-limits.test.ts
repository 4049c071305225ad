import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';

let h: HiyProcess;
before(async () => { h = await startHiy(); });
after(async () => { await h?.stop(); });

/** A chunked body (no content-length) of `total` bytes, so only counting while reading can stop it. */
function postChunked(path: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.url}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    req.write('{"name":"chunky","x":"');
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end('"}');
    };
    pump();
  });
}

test('a chunked body larger than the limit is refused with 413 and nothing is created', { timeout: 60_000 }, async () => {
  const res = await postChunked('/apps', 4 * 1024 * 1024);
  assert.equal(res.status, 413, res.body);
  assert.equal(JSON.parse(res.body).error.code, 'payload_too_large');
  const apps = await apiClient(h)('GET', '/apps');
  assert.deepEqual(apps.body.apps, []);
});
