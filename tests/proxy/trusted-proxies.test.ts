/**
 * HIY_TRUSTED_PROXIES: only requests that reach Caddy from a trusted proxy may name the client
 * (X-Forwarded-For, CF-Connecting-IP); hiy's logs (fail2ban reads them) and the apps then see that
 * client. From anyone else both headers are ignored. The test client talks to Caddy from
 * 127.0.0.1, so trusting 127.0.0.0/8 plays Cloudflare's edge.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { getApp } from '../../src/apps/repo.js';
import { allSlotPorts } from '../../src/slots.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';

function viaCaddy(port: number, host: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The `ip` of hiy's auth_failed log lines, in order. */
function failedIps(hiy: InProcessHiy): string[] {
  return hiy.logs().split('\n').filter((l) => l.includes('"auth_failed"')).map((l) => (JSON.parse(l) as { ip: string }).ip);
}

async function echoApp(hiy: InProcessHiy): Promise<Server[]> {
  assert.equal((await apiClient(hiy)('POST', '/apps', { name: 'echo' })).status, 201);
  const route = await getApp(hiy.running.services.db, 'echo');
  return Promise.all(allSlotPorts(route, hiy.running.services.config.slotPortBase).map((port) => new Promise<Server>((resolve) => {
    const s = createServer((req, res) => res.end(String(req.headers['x-forwarded-for'] ?? '')));
    s.listen(port, '127.0.0.1', () => resolve(s));
  })));
}

describe('trusted proxies decide whose forwarded client address counts', { timeout: 120_000 }, () => {
  const servers: InProcessHiy[] = [];
  const apps: Server[] = [];
  after(async () => {
    for (const s of apps) s.close();
    for (const h of servers) await h.stop();
  });

  test('from a trusted proxy: X-Forwarded-For and CF-Connecting-IP name the client for hiy and the apps', async () => {
    const hiy = await startInProcess({ env: { HIY_TLS: 'off', HIY_TRUSTED_PROXIES: '127.0.0.0/8,cloudflare' } });
    servers.push(hiy);
    const port = Number(hiy.env.HIY_HTTP_PORT);
    const bad = { authorization: 'Bearer hiy_wrong-token-wrong-token-wrong-token-wrong' };
    assert.equal((await viaCaddy(port, 'hiy.localhost', '/api/v1/apps', { ...bad, 'x-forwarded-for': '198.51.100.7' })).status, 401);
    assert.equal((await viaCaddy(port, 'hiy.localhost', '/api/v1/apps', { ...bad, 'x-forwarded-for': '192.0.2.1, 198.51.100.8', 'cf-connecting-ip': '203.0.113.5' })).status, 401);
    // A spoofed entry before a real client: the walk from the right stops at the first untrusted address.
    assert.equal((await viaCaddy(port, 'hiy.localhost', '/api/v1/apps', { ...bad, 'x-forwarded-for': '192.0.2.66, 198.51.100.9, 104.16.0.1' })).status, 401);
    assert.deepEqual(failedIps(hiy), ['198.51.100.7', '203.0.113.5', '198.51.100.9']);

    apps.push(...await echoApp(hiy));
    const seen = await viaCaddy(port, 'echo.localhost', '/', { 'x-forwarded-for': '198.51.100.7' });
    assert.equal(seen.body, '198.51.100.7, 127.0.0.1', 'Caddy keeps the trusted proxy\'s list and adds its peer');
  });

  test('without trusted proxies both headers are ignored: the client is the peer Caddy saw', async () => {
    const hiy = await startInProcess({ env: { HIY_TLS: 'off' } });
    servers.push(hiy);
    const port = Number(hiy.env.HIY_HTTP_PORT);
    const bad = { authorization: 'Bearer hiy_wrong-token-wrong-token-wrong-token-wrong' };
    assert.equal((await viaCaddy(port, 'hiy.localhost', '/api/v1/apps', { ...bad, 'x-forwarded-for': '198.51.100.7', 'cf-connecting-ip': '203.0.113.5' })).status, 401);
    assert.deepEqual(failedIps(hiy), ['127.0.0.1']);
    apps.push(...await echoApp(hiy));
    assert.equal((await viaCaddy(port, 'echo.localhost', '/', { 'x-forwarded-for': '198.51.100.7' })).body, '127.0.0.1');
  });
});
