import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { HiyError } from './errors.js';
import { CLOUDFLARE_API, LETS_ENCRYPT_DIRECTORY } from './tls-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-tls-settings-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'abc\n', { mode: 0o600 });
const base = { HOME: '/home/pi', HIY_DOMAIN: 'pi.example.com' };

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    assert.ok(err instanceof HiyError && err.code === 'config');
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('TLS settings', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: Let\'s Encrypt for hiy\'s client, Caddy left to its defaults, no trusted proxies', () => {
    const c = loadConfig(base);
    assert.equal(c.tls, 'auto');
    assert.deepEqual(c.acme, { directory: LETS_ENCRYPT_DIRECTORY, directoryGiven: false, caRootFile: undefined });
    assert.equal(c.dns, undefined);
    assert.deepEqual(c.trustedProxies, []);
  });

  it('HIY_TLS=dns with Cloudflare', () => {
    const c = loadConfig({ ...base, HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: tokenFile });
    assert.deepEqual(c.dns, { provider: 'cloudflare', tokenFile, api: CLOUDFLARE_API, propagationSec: 10 });
    const local = loadConfig({ ...base, HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: tokenFile, HIY_DNS_CLOUDFLARE_API: 'http://127.0.0.1:9/client/v4/', HIY_DNS_PROPAGATION_SECONDS: '0' });
    assert.equal(local.dns?.provider === 'cloudflare' && local.dns.api, 'http://127.0.0.1:9/client/v4');
    assert.equal(local.dns?.propagationSec, 0);
  });

  it('HIY_TLS=dns with RFC 2136', () => {
    const c = loadConfig({ ...base, HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'rfc2136', HIY_DNS_RFC2136_SERVER: 'ns1.example.com', HIY_DNS_RFC2136_KEY_NAME: 'hiy-acme.', HIY_DNS_RFC2136_KEY_FILE: tokenFile });
    assert.deepEqual(c.dns, { provider: 'rfc2136', server: { host: 'ns1.example.com', port: 53 }, keyName: 'hiy-acme.', keyAlgorithm: 'hmac-sha256', keyFile: tokenFile, propagationSec: 10 });
  });

  it('names the variable that is wrong', () => {
    assert.match(configError({ HIY_TLS: 'dns' }), /HIY_DNS_PROVIDER: is required/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'route53' }), /HIY_DNS_PROVIDER: "route53" is not one of/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare' }), /HIY_DNS_CLOUDFLARE_TOKEN_FILE: is required/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: join(dir, 'nope') }), /HIY_DNS_CLOUDFLARE_TOKEN_FILE: cannot read .*ENOENT/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: 'token' }), /not an absolute path/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: dir }), /is not a file/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'rfc2136', HIY_DNS_RFC2136_SERVER: 'ns1:53', HIY_DNS_RFC2136_KEY_NAME: 'k', HIY_DNS_RFC2136_KEY_FILE: tokenFile, HIY_DNS_RFC2136_KEY_ALG: 'rot13' }), /HIY_DNS_RFC2136_KEY_ALG: "rot13"/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'rfc2136', HIY_DNS_RFC2136_KEY_NAME: 'k', HIY_DNS_RFC2136_KEY_FILE: tokenFile }), /HIY_DNS_RFC2136_SERVER: is required/);
    assert.match(configError({ HIY_TLS: 'dns', HIY_DOMAIN: 'localhost' }), /HIY_TLS: dns needs a public domain/);
    assert.match(configError({ HIY_ACME_CA: 'http://ca.example/dir' }), /HIY_ACME_CA: must be the https:\/\/ URL/);
    assert.match(configError({ HIY_ACME_CA_ROOT: join(dir, 'missing.pem') }), /HIY_ACME_CA_ROOT: cannot read/);
    assert.match(configError({ HIY_TRUSTED_PROXIES: 'cloudflare, my-lb' }), /HIY_TRUSTED_PROXIES: "my-lb" is neither/);
    assert.match(configError({ HIY_DNS_PROPAGATION_SECONDS: 'x', HIY_TLS: 'dns', HIY_DNS_PROVIDER: 'cloudflare', HIY_DNS_CLOUDFLARE_TOKEN_FILE: tokenFile }), /HIY_DNS_PROPAGATION_SECONDS/);
  });

  it('HIY_ACME_CA given: used by hiy and by Caddy', () => {
    const c = loadConfig({ ...base, HIY_ACME_CA: 'https://127.0.0.1:14000/dir', HIY_ACME_CA_ROOT: tokenFile, HIY_TRUSTED_PROXIES: 'cloudflare' });
    assert.deepEqual(c.acme, { directory: 'https://127.0.0.1:14000/dir', directoryGiven: true, caRootFile: tokenFile });
    assert.ok(c.trustedProxies.includes('173.245.48.0/20'));
  });
});
