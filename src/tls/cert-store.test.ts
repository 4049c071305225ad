import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CertStore } from './cert-store.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-cert-store-'));

/** A self-signed certificate for *.pi.example and pi.example, made with openssl. */
function selfSigned(name: string): { certificate: string; key: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', '/CN=pi.example', '-addext', 'subjectAltName=DNS:pi.example,DNS:*.pi.example', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { certificate: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('CertStore', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the chain and key in one 0600 file under a 0700 dir, and reads them back with their names', async () => {
    const store = new CertStore(join(dir, 'data'));
    assert.equal(await store.readCert(), undefined);
    const a = selfSigned('a');
    const stored = await store.writeCert(a.certificate, a.key);
    assert.deepEqual(stored.names, ['pi.example', '*.pi.example']);
    assert.ok(stored.notAfter > stored.notBefore);
    assert.equal(statSync(join(dir, 'data', 'tls')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'data', 'tls', 'wildcard.pem')).mode & 0o777, 0o600);
    const again = await store.readCert();
    assert.equal(again?.serial, stored.serial);
    assert.equal(again?.key.trim(), a.key.trim());
  });

  it('refuses a file whose key belongs to another certificate', async () => {
    const store = new CertStore(join(dir, 'mixed'));
    const a = selfSigned('b');
    const b = selfSigned('c');
    await store.writeCert(a.certificate, a.key);
    writeFileSync(join(dir, 'mixed', 'tls', 'wildcard.pem'), `${a.certificate}${b.key}`);
    await assert.rejects(store.readCert(), /private key does not belong to the certificate/);
  });

  it('keeps the account URL per ACME directory and the account key', async () => {
    const store = new CertStore(join(dir, 'acct'));
    assert.equal(await store.accountUrl('https://ca/dir'), undefined);
    await store.saveAccountUrl('https://ca/dir', 'https://ca/acct/1');
    await store.saveAccountUrl('https://other/dir', 'https://other/acct/9');
    assert.equal(await store.accountUrl('https://ca/dir'), 'https://ca/acct/1');
    let made = 0;
    const key = await store.accountKey(async () => { made++; return 'PEM'; });
    assert.equal(await store.accountKey(async () => { made++; return 'OTHER'; }), key);
    assert.equal(made, 1);
    assert.equal(statSync(join(dir, 'acct', 'tls', 'account-key.pem')).mode & 0o777, 0o600);
  });
});
