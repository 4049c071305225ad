/**
 * HIY_TLS=auto (the default for a real domain): Caddy gets one certificate per host by HTTP-01
 * (or TLS-ALPN-01) from the CA named in HIY_ACME_CA, trusting HIY_ACME_CA_ROOT for its HTTPS.
 * Here the CA is pebble, resolving every name to 127.0.0.1 through pebble-challtestsrv and
 * validating on hiy's own HTTP and HTTPS ports.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../helpers/acme-servers.js';
import type { SlotServer } from '../../harness/caddy.js';
import { acmeEnv, appOnSlots, stopAll } from './support.js';
import { freePorts } from '../../harness/ports.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { httpsGet, until } from '../helpers/tls-client.js';

const DOMAIN = 'hiy-auto.test';

describe('HIY_TLS=auto: Caddy obtains a certificate per app host by HTTP-01 from the configured CA', { timeout: 240_000 }, () => {
  let dir: string;
  let dns: ChallTestSrv;
  let pebble: Pebble;
  let hiy: InProcessHiy;
  let root: string;
  let httpsPort: number;
  const slots: SlotServer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-tls-auto-'));
    dns = await startChallTestSrv();
    const [http, https] = await freePorts(2);
    httpsPort = https!;
    pebble = await startPebble(join(dir, 'pebble'), { dnsServer: dns.dns, httpPort: http, tlsPort: https });
    root = await pebble.issuanceRoot();
    hiy = await startInProcess({
      env: {
        HIY_DOMAIN: DOMAIN,
        HIY_HTTP_PORT: String(http),
        HIY_HTTPS_PORT: String(https),
        HIY_TLS: 'auto',
        ...acmeEnv(pebble),
      },
    });
  });

  after(() => stopAll(slots, [hiy, pebble, dns], dir));

  test('an app subdomain is served over HTTPS with a certificate of its own that chains to the CA', async () => {
    const api = apiClient(hiy);
    slots.push(...await appOnSlots(hiy, 'web', 'hello over acme'));
    const res = await until('a certificate for the app', () => httpsGet(httpsPort, `web.${DOMAIN}`, [root]), 90_000, 500);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello over acme');
    assert.deepEqual(res.names, [`web.${DOMAIN}`], 'a certificate for this host only');
    const cp = await until('a certificate for hiy.<domain>', () => httpsGet(httpsPort, `hiy.${DOMAIN}`, [root], '/api/v1/health'), 90_000, 500);
    assert.equal(cp.status, 200);
    assert.notEqual(cp.serial, res.serial);
    assert.ok(pebble.issued() >= 2);

    const listing = (await api('GET', '/certs')).body;
    assert.equal(listing.mode, 'auto');
    assert.equal(listing.wildcard, null);
    const web = (listing.certificates as { hosts: string[]; managed_by: string; issuer: string; trusted: boolean }[]).find((c) => c.hosts.includes(`web.${DOMAIN}`));
    assert.equal(web?.managed_by, 'caddy');
    assert.match(web?.issuer ?? '', /^Pebble Intermediate CA/);
    const renew = await api('POST', '/certs/renew');
    assert.equal(renew.status, 409);
    assert.match(renew.body.error.message, /only with HIY_TLS=dns/);
  });
});
