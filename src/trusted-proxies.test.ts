import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, CLOUDFLARE_RANGES, parseTrustedProxies, trustedProxies } from './trusted-proxies.js';

const headers = (h: Record<string, string>) => (n: string) => h[n];

describe('trusted proxies', () => {
  it('parses cloudflare and CIDRs, and refuses anything else', () => {
    assert.deepEqual(parseTrustedProxies(''), []);
    assert.deepEqual(parseTrustedProxies('10.0.0.0/8, 192.0.2.1,2001:db8::/32'), ['10.0.0.0/8', '192.0.2.1/32', '2001:db8::/32']);
    assert.equal(parseTrustedProxies('Cloudflare').length, CLOUDFLARE_RANGES.length);
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0/8', '1.2.3.4/8/9', '::1/129']) assert.throws(() => parseTrustedProxies(bad), /neither/);
  });

  it('reads forwarded headers only from the local Caddy, and only past trusted proxies', () => {
    const cf = trustedProxies(parseTrustedProxies('cloudflare'));
    const none = trustedProxies([]);
    // Not through Caddy: the peer itself, whatever the headers say.
    assert.equal(clientAddress('198.51.100.1', headers({ 'x-forwarded-for': '1.1.1.1' }), cf), '198.51.100.1');
    // Caddy's peer is not a trusted proxy: the client is that peer; CF-Connecting-IP is ignored.
    assert.equal(clientAddress('127.0.0.1', headers({ 'x-forwarded-for': '198.51.100.7', 'cf-connecting-ip': '203.0.113.5' }), cf), '198.51.100.7');
    assert.equal(clientAddress('127.0.0.1', headers({ 'x-forwarded-for': '198.51.100.7' }), none), '198.51.100.7');
    // Through Cloudflare's edge: CF-Connecting-IP, else the rightmost address that is not Cloudflare's.
    assert.equal(clientAddress('::1', headers({ 'x-forwarded-for': '198.51.100.7, 104.16.0.9', 'cf-connecting-ip': '203.0.113.5' }), cf), '203.0.113.5');
    assert.equal(clientAddress('127.0.0.1', headers({ 'x-forwarded-for': '192.0.2.66, 198.51.100.7, 2606:4700::1' }), cf), '198.51.100.7');
    assert.equal(clientAddress('127.0.0.1', headers({ 'x-forwarded-for': '104.16.0.9, not-an-ip' }), cf), '104.16.0.9');
    assert.equal(clientAddress('::ffff:127.0.0.1', headers({}), cf), '::ffff:127.0.0.1');
    assert.ok(cf.has('::ffff:104.16.0.1'));
    assert.ok(!none.has('104.16.0.1'));
  });
});
