/**
 * Apps and custom domains come and go without a Caddy reload (decision 31): a real in-process hiy
 * with its child Caddy (HIY_TLS=internal, a real domain so the on-demand policy is what issues),
 * driven through the REST API, some of it through Caddy itself as an operator on a production
 * install does (https://hiy.<domain>).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Agent, request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getApp } from '../../src/apps/repo.js';
import { createCaddyAdmin } from '../../src/proxy/caddy-admin.js';
import { allSlotPorts } from '../../src/slots.js';
import { startSlotServer, type SlotServer } from '../../harness/caddy.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { until } from '../helpers/tls-client.js';

const DOMAIN = 'pi.test';

interface Answer { status: number; body: string; reused: boolean; names: string[] }

describe('no Caddy reload when apps and domains come and go', { timeout: 120_000 }, () => {
  let hiy: InProcessHiy;
  let ca: string;
  let httpsPort: number;
  const slots: SlotServer[] = [];

  /** HTTPS to Caddy with SNI and Host `host`, trusting only hiy's local CA. */
  function https(host: string, path = '/', opts: { method?: string; body?: string; headers?: Record<string, string>; agent?: Agent } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const o: RequestOptions = {
        host: '127.0.0.1', port: httpsPort, path, method: opts.method ?? 'GET', servername: host, ca,
        headers: { host, ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        agent: opts.agent ?? false, timeout: 15_000,
      };
      const req = request(o, (res) => {
        const names = ((res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^DNS:/, ''));
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket, names }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  before(async () => {
    hiy = await startInProcess({ env: { HIY_TLS: 'internal', HIY_DOMAIN: DOMAIN } });
    httpsPort = Number(hiy.env.HIY_HTTPS_PORT);
    ca = await until('the local CA', () => readFile(join(hiy.dataDir, 'caddy', 'pki', 'authorities', 'local', 'root.crt'), 'utf8'), 20_000);
  });

  after(async () => {
    for (const s of slots) await s.close('abrupt').catch(() => undefined);
    await hiy?.stop();
  });

  async function appOnSlots(name: string, body: string): Promise<void> {
    const row = await getApp(hiy.running.services.db, name);
    slots.push(...await Promise.all(allSlotPorts(row, hiy.running.services.config.slotPortBase).map((p) => startSlotServer(p, body))));
  }

  test('creating an app through https://hiy.<domain> answers 201 (Caddy is not reloaded under the request that asked for it)', async () => {
    const auth = { authorization: `Bearer ${hiy.token}` };
    await until('hiy.<domain> over HTTPS', async () => ((await https(`hiy.${DOMAIN}`, '/api/v1/health')).status === 200 ? true : undefined), 20_000);
    const res = await https(`hiy.${DOMAIN}`, '/api/v1/apps', { method: 'POST', body: JSON.stringify({ name: 'viacaddy' }), headers: auth });
    assert.equal(res.status, 201, res.body);
    const gone = await https(`hiy.${DOMAIN}`, '/api/v1/apps/viacaddy', { method: 'DELETE', headers: auth });
    assert.equal(gone.status, 200, gone.body);
  });

  test('an idle keep-alive connection to one app survives another app created, given a domain, losing it and destroyed; Caddy\'s config never changes', async () => {
    const api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: 'first' })).status, 201);
    await appOnSlots('first', 'first app');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const opening = await https(`first.${DOMAIN}`, '/', { agent });
    assert.deepEqual([opening.status, opening.body, opening.names], [200, 'first app', [`first.${DOMAIN}`]], 'a certificate for the new app, on demand');
    const admin = createCaddyAdmin(hiy.running.services.config.caddyAdmin);
    const config = JSON.stringify(await admin.get('/config/'));

    assert.equal((await api('POST', '/apps', { name: 'second' })).status, 201);
    await appOnSlots('second', 'second app');
    assert.equal((await api('POST', '/apps/second/domains', { host: 'shop.example.com' })).status, 201);
    const shop = await https('shop.example.com');
    assert.deepEqual([shop.status, shop.body, shop.names], [200, 'second app', ['shop.example.com']]);
    assert.equal((await https(`second.${DOMAIN}`)).body, 'second app');
    assert.equal((await api('DELETE', '/apps/second/domains/shop.example.com')).status, 200);
    assert.equal((await https('shop.example.com')).status, 404, 'a removed domain is not served (its certificate stays cached in Caddy)');
    assert.equal((await api('DELETE', '/apps/second')).status, 200);
    assert.equal((await https(`second.${DOMAIN}`)).status, 404);

    const again = await https(`first.${DOMAIN}`, '/', { agent });
    assert.deepEqual([again.status, again.body, again.reused], [200, 'first app', true], 'a reload would have closed this connection');
    assert.equal(JSON.stringify(await admin.get('/config/')), config);
    agent.destroy();
  });

  test('Caddy gets a certificate only for a host hiy serves; only Caddy, not a client through it, may ask', async () => {
    await assert.rejects(https(`nobody.${DOMAIN}`), /alert|handshake|EPROTO|ECONNRESET|socket hang up/i);
    const ask = (domain: string) => fetch(`${hiy.url}/internal/tls-ask?domain=${encodeURIComponent(domain)}`).then((r) => r.status);
    assert.equal(await ask(`first.${DOMAIN}`), 200);
    assert.equal(await ask(`FIRST.${DOMAIN}`), 200);
    assert.equal(await ask(`hiy.${DOMAIN}`), 200);
    assert.equal(await ask(`nobody.${DOMAIN}`), 404);
    assert.equal(await ask('shop.example.com'), 404, 'the domain was removed');
    assert.equal((await https(`hiy.${DOMAIN}`, `/internal/tls-ask?domain=first.${DOMAIN}`)).status, 403);
  });
});
