/**
 * HIY_TLS=dns with RFC 2136: hiy orders `*.<domain>` + `<domain>` from a real ACME server
 * (pebble) by DNS-01, writing the TXT records into a real authoritative DNS server (knot) with a
 * TSIG-signed update; pebble resolves through that server. The test domain exists only there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKnot, startPebble, type Knot, type Pebble } from '../helpers/acme-servers.js';
import type { SlotServer } from '../../harness/caddy.js';
import { acmeEnv, appOnSlots, firstWildcard, stopAll } from './support.js';
import { run } from '../../harness/git.js';
import { hiyEntry } from '../../harness/paths.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { httpsGet, until } from '../helpers/tls-client.js';
import { testEnv } from '../../harness/server.js';

const DOMAIN = 'hiy-rfc2136.test';

describe('wildcard certificate by DNS-01 through RFC 2136 (knot, TSIG) from pebble', { timeout: 300_000 }, () => {
  let dir: string;
  let knot: Knot;
  let pebble: Pebble;
  let hiy: InProcessHiy | undefined;
  let keyFile: string;
  let root: string;
  let dataDir: string;
  const slots: SlotServer[] = [];

  const env = () => ({
    HIY_DOMAIN: DOMAIN,
    HIY_TLS: 'dns',
    HIY_DNS_PROVIDER: 'rfc2136',
    HIY_DNS_RFC2136_SERVER: knot.server,
    HIY_DNS_RFC2136_KEY_NAME: knot.keyName,
    HIY_DNS_RFC2136_KEY_FILE: keyFile,
    HIY_DNS_PROPAGATION_SECONDS: '0',
    ...acmeEnv(pebble),
  });
  const api = () => apiClient(hiy!);
  const httpsPort = () => Number(hiy!.env.HIY_HTTPS_PORT);
  const wildcard = async () => (await api()('GET', '/certs')).body.wildcard;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hiy-tls-rfc-'));
    dataDir = join(dir, 'data');
    knot = await startKnot(join(dir, 'knot'), DOMAIN);
    pebble = await startPebble(join(dir, 'pebble'), { dnsServer: knot.server });
    root = await pebble.issuanceRoot();
    keyFile = join(dir, 'tsig.key');
    writeFileSync(keyFile, `${knot.secret}\n`, { mode: 0o600 });
    hiy = await startInProcess({ env: env(), dataDir, keepDataDir: true });
  });

  after(() => stopAll(slots, [hiy, pebble, knot], dir));

  test('one wildcard certificate serves hiy.<domain> and every app; Caddy orders none per app', async () => {
    const w = await firstWildcard(hiy!);
    assert.deepEqual([...w.certificate.names].sort(), [`*.${DOMAIN}`, DOMAIN]);

    for (const name of ['web', 'shop']) slots.push(...await appOnSlots(hiy!, name, `hello from ${name}`));
    for (const name of ['web', 'shop']) {
      const res = await httpsGet(httpsPort(), `${name}.${DOMAIN}`, [root]);
      assert.equal(res.status, 200);
      assert.equal(res.body, `hello from ${name}`);
      assert.equal(res.serial, w.certificate.serial, `${name} is served the wildcard`);
    }
    const cp = await httpsGet(httpsPort(), `hiy.${DOMAIN}`, [root], '/api/v1/health');
    assert.equal(cp.status, 200);
    assert.equal(cp.serial, w.certificate.serial);
    // A client that trusts anything else (the system roots) refuses the chain: the trust really comes from pebble's root.
    await assert.rejects(httpsGet(httpsPort(), `web.${DOMAIN}`, []), /self[- ]signed|unable to (get|verify)/i);

    assert.equal(pebble.issued(), 1, 'pebble issued exactly one certificate');
    const caddyCerts = join(dataDir, 'caddy', 'certificates');
    assert.deepEqual(existsSync(caddyCerts) ? readdirSync(caddyCerts) : [], [], 'Caddy obtained no certificate of its own');

    const tlsDir = join(dataDir, 'tls');
    assert.equal(statSync(tlsDir).mode & 0o777, 0o700);
    for (const f of ['account-key.pem', 'account.json', 'wildcard.pem', 'state.json']) assert.equal(statSync(join(tlsDir, f)).mode & 0o777, 0o600, f);
  });

  test('hiy certs lists the certificate with its hosts and last renewal', async () => {
    const out = await run(process.execPath, [hiyEntry(), 'certs'], { env: { HIY_URL: hiy!.url, HIY_TOKEN: hiy!.token } });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /TLS mode: dns/);
    assert.match(out.stdout, new RegExp(`Wildcard\\s+${DOMAIN.replace(/\./g, '\\.')}, \\*\\.`));
    assert.match(out.stdout, /Last renewal\s+ok/);
    assert.match(out.stdout, new RegExp(`hiy\\.${DOMAIN.replace(/\./g, '\\.')} shop\\.\\S+ web\\.\\S+`));
    const json = JSON.parse((await run(process.execPath, [hiyEntry(), 'certs', '--json'], { env: { HIY_URL: hiy!.url, HIY_TOKEN: hiy!.token } })).stdout);
    assert.equal(json.certificates.length, 1);
    assert.equal(json.certificates[0].managed_by, 'hiy');
    assert.equal(json.certificates[0].issuer.startsWith('Pebble Intermediate CA'), true);
  });

  test('a name server that refuses the update: a clear error, an alert, and HTTPS keeps the certificate', async () => {
    const before = await wildcard();
    writeFileSync(keyFile, `${Buffer.alloc(32, 7).toString('base64')}\n`); // a key the server does not know
    const res = await api()('POST', '/certs/renew');
    assert.equal(res.status, 503);
    assert.match(res.body.error.message, /refused to add the TXT record _acme-challenge\.hiy-rfc2136\.test: .*(NOTAUTH|BADSIG|TSIG)/);
    assert.doesNotMatch(JSON.stringify(res.body), new RegExp(knot.secret.slice(0, 12).replace(/[+/]/g, '.')));
    const served = await httpsGet(httpsPort(), `web.${DOMAIN}`, [root]);
    assert.equal(served.serial, before.certificate.serial, 'the old certificate is still served');
    const w = await wildcard();
    assert.equal(w.last_result, 'failed');
    assert.equal(w.failures, 1);
    const alerts = (await api()('GET', '/alerts?open=true')).body.alerts as { kind: string; message: string }[];
    assert.ok(alerts.some((a) => a.kind === 'certificate' && /NOTAUTH|BADSIG|TSIG/.test(a.message)), JSON.stringify(alerts));

    writeFileSync(keyFile, `${knot.secret}\n`);
    const ok = await api()('POST', '/certs/renew');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.notEqual(ok.body.wildcard.certificate.serial, before.certificate.serial);
    assert.equal((await httpsGet(httpsPort(), `web.${DOMAIN}`, [root])).serial, ok.body.wildcard.certificate.serial);
    const open = (await api()('GET', '/alerts?open=true')).body.alerts as { kind: string }[];
    assert.equal(open.filter((a) => a.kind === 'certificate').length, 0, 'the renewal alert resolved');
  });

  test('a restart loads the stored certificate and orders none', async () => {
    const issued = pebble.issued();
    const serial = (await wildcard()).certificate.serial;
    await hiy!.stop();
    hiy = undefined;
    hiy = await startInProcess({ env: env(), dataDir, keepDataDir: true });
    const res = await until('HTTPS after the restart', async () => httpsGet(httpsPort(), `hiy.${DOMAIN}`, [root], '/api/v1/health'), 15_000);
    assert.equal(res.serial, serial);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pebble.issued(), issued, 'no new certificate was ordered');
    assert.equal((await wildcard()).certificate.serial, serial);
  });

  test('a backup carries the account key and certificate (0600); a restored box serves it without ordering', async () => {
    const age = await import('age-encryption');
    const identity = await age.generateX25519Identity();
    const keyFileAge = join(dir, 'backup-key.txt');
    writeFileSync(keyFileAge, `${identity}\n`, { mode: 0o600 });
    const cli = (args: string[], extra: Record<string, string>) => run(process.execPath, [hiyEntry(), ...args], { env: { ...env(), ...extra } });
    const backup = await cli(['backup'], { HIY_DATA_DIR: dataDir, HIY_BACKUP_DIR: join(dir, 'backups'), HIY_BACKUP_RECIPIENT: await age.identityToRecipient(identity) });
    assert.equal(backup.code, 0, backup.stderr);
    const file = /Backup written: (\S+)/.exec(backup.stdout)?.[1];
    assert.ok(file, backup.stdout);
    // Backups are signed; a fresh box checks the signature with the key the backup printed.
    const signer = /Signed with: (ed25519:\S+)/.exec(backup.stdout)?.[1];
    assert.ok(signer, backup.stdout);
    const serial = (await wildcard()).certificate.serial;
    const issued = pebble.issued();
    await hiy!.stop();
    hiy = undefined;

    const restoredDir = join(dir, 'restored');
    const fresh = (await testEnv({ dataDir: restoredDir })).env; // ports of its own, clear of an installed hiy
    const restore = await cli(['restore', file, '--key', keyFileAge, '--signer', signer], { ...fresh, HIY_DOMAIN: DOMAIN });
    assert.equal(restore.code, 0, `${restore.stdout}\n${restore.stderr}`);
    for (const f of ['account-key.pem', 'account.json', 'wildcard.pem']) assert.equal(statSync(join(restoredDir, 'tls', f)).mode & 0o777, 0o600, f);
    hiy = await startInProcess({ env: env(), dataDir: restoredDir, keepDataDir: true });
    const res = await until('HTTPS on the restored box', async () => httpsGet(httpsPort(), `web.${DOMAIN}`, [root]), 15_000);
    assert.equal(res.serial, serial);
    assert.equal(pebble.issued(), issued);
  });
});
