/**
 * HIY_TLS=dns with Cloudflare: hiy talks to a local stand-in of Cloudflare's DNS records API,
 * which writes the TXT records into pebble-challtestsrv, the DNS server pebble resolves through.
 * pebble issues 24-second certificates here, so renewal two thirds into the lifetime happens
 * while the test watches. A custom domain outside the wildcard gets its own certificate from
 * Caddy by HTTP-01 through the same CA.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../helpers/acme-servers.js';
import type { SlotServer } from '../../harness/caddy.js';
import { acmeEnv, appOnSlots, firstWildcard, stopAll } from './support.js';
import { startCloudflareStandIn, type CloudflareStandIn } from '../helpers/cloudflare-standin.js';
import { freePorts } from '../../harness/ports.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { httpsGet, until } from '../helpers/tls-client.js';

const DOMAIN = 'hiy-cf.test';
const CUSTOM = 'shop.elsewhere.test';
const LIFETIME_S = 24;

describe('wildcard certificate by DNS-01 through the Cloudflare API, renewed; custom domains keep HTTP-01', { timeout: 300_000 }, () => {
  let dir: string;
  let dns: ChallTestSrv;
  let cf: CloudflareStandIn;
  let pebble: Pebble;
  let hiy: InProcessHiy;
  let root: string;
  let httpsPort: number;
  const slots: SlotServer[] = [];
  const api = () => apiClient(hiy);
  const wildcard = async () => (await api()('GET', '/certs')).body.wildcard;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-tls-cf-'));
    dns = await startChallTestSrv();
    cf = await startCloudflareStandIn(DOMAIN, dns);
    const [http, https] = await freePorts(2);
    httpsPort = https!;
    pebble = await startPebble(join(dir, 'pebble'), { dnsServer: dns.dns, httpPort: http, tlsPort: https, validitySec: LIFETIME_S });
    root = await pebble.issuanceRoot();
    const tokenFile = join(dir, 'cf-token');
    writeFileSync(tokenFile, `${cf.token}\n`, { mode: 0o600 });
    hiy = await startInProcess({
      env: {
        HIY_DOMAIN: DOMAIN,
        HIY_HTTP_PORT: String(http),
        HIY_HTTPS_PORT: String(https),
        HIY_TLS: 'dns',
        HIY_DNS_PROVIDER: 'cloudflare',
        HIY_DNS_CLOUDFLARE_TOKEN_FILE: tokenFile,
        HIY_DNS_CLOUDFLARE_API: cf.api,
        HIY_DNS_PROPAGATION_SECONDS: '0',
        ...acmeEnv(pebble),
      },
    });
  });

  after(() => stopAll(slots, [hiy, pebble, cf, dns], dir));

  test('the wildcard is issued through the stand-in, whose records are cleaned up', async () => {
    const w = await firstWildcard(hiy!);
    assert.deepEqual([...w.certificate.names].sort(), [`*.${DOMAIN}`, DOMAIN]);
    assert.equal(w.provider, 'Cloudflare');
    assert.ok(cf.calls.includes(`GET /zones`), cf.calls.join(', '));
    assert.equal(cf.calls.filter((c) => /^POST \/zones\/\w+\/dns_records$/.test(c)).length, 2, 'one TXT record per authorization');
    assert.equal(cf.calls.filter((c) => /^DELETE /.test(c)).length, 2);
    assert.deepEqual(cf.records(), [], 'no challenge record is left behind');
    const res = await httpsGet(httpsPort, `hiy.${DOMAIN}`, [root], '/api/v1/health');
    assert.equal(res.status, 200);
    assert.equal(res.serial, w.certificate.serial);
    assert.ok(!hiy.logs().includes(cf.token), 'the API token never reaches a log');
  });

  test('a custom domain outside the wildcard gets its own certificate from Caddy by HTTP-01', async () => {
    slots.push(...await appOnSlots(hiy, 'web', 'the shop'));
    const issuedBefore = pebble.issued();
    assert.equal((await api()('POST', '/apps/web/domains', { host: CUSTOM })).status, 201);
    const custom = await until(`a certificate for ${CUSTOM}`, () => httpsGet(httpsPort, CUSTOM, [root]), 90_000, 500);
    assert.equal(custom.status, 200);
    assert.equal(custom.body, 'the shop');
    assert.deepEqual(custom.names, [CUSTOM]);
    const app = await httpsGet(httpsPort, `web.${DOMAIN}`, [root]);
    assert.equal(app.body, 'the shop');
    assert.ok(app.names.includes(`*.${DOMAIN}`), 'the app itself is served the wildcard');
    assert.ok(pebble.issued() > issuedBefore);
    const listing = (await api()('GET', '/certs')).body;
    const byHost = new Map<string, { managed_by: string }>();
    for (const c of listing.certificates as { hosts: string[]; managed_by: string }[]) for (const h of c.hosts) byHost.set(h, c);
    assert.equal(byHost.get(CUSTOM)?.managed_by, 'caddy');
    assert.equal(byHost.get(`web.${DOMAIN}`)?.managed_by, 'hiy');
  });

  test('renewal two thirds into the lifetime replaces the served certificate', async () => {
    const first = await wildcard();
    const notBefore = Date.parse(first.certificate.not_before);
    const notAfter = Date.parse(first.certificate.not_after);
    const renewed = await until('a renewal', async () => {
      const w = await wildcard();
      return w.certificate.serial !== first.certificate.serial && w.last_result === 'ok' ? w : undefined;
    }, (LIFETIME_S + 15) * 1000, 500);
    const at = Date.parse(renewed.last_attempt_at);
    assert.ok(at >= notBefore + (notAfter - notBefore) * 2 / 3 - 1000, `renewed at ${renewed.last_attempt_at}, due ${first.renew_at}`);
    assert.ok(at < notAfter, 'renewed before the old certificate ended');
    const served = await httpsGet(httpsPort, `web.${DOMAIN}`, [root]);
    assert.equal(served.serial, renewed.certificate.serial);
  });

  test('Cloudflare refusing: a clear error, an alert, and HTTPS keeps serving the certificate it has', async () => {
    const current = await wildcard();
    cf.refuse(true);
    try {
      const res = await api()('POST', '/certs/renew');
      assert.equal(res.status, 503);
      assert.match(res.body.error.message, /Cloudflare refused to create the TXT record _acme-challenge\.hiy-cf\.test: Authentication error \(code 10000\) \(HTTP 403\)/);
      const served = await httpsGet(httpsPort, `hiy.${DOMAIN}`, [root], '/api/v1/health');
      assert.equal(served.status, 200);
      assert.equal(served.serial, current.certificate.serial);
      const w = await wildcard();
      assert.equal(w.last_result, 'failed');
      assert.ok(Date.parse(w.next_attempt_at) > Date.now(), 'a retry is scheduled');
      const alerts = (await api()('GET', '/alerts?open=true')).body.alerts as { kind: string; message: string }[];
      assert.ok(alerts.some((a) => a.kind === 'certificate' && a.message.includes('Authentication error')), JSON.stringify(alerts));
    } finally {
      cf.refuse(false);
    }
  });
});
