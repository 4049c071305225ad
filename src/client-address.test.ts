import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from './client-address.js';

describe('client address keys', () => {
  it('key IPv4 by address and IPv6 by /64, whatever the spelling', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    const k = addressKey('2001:db8:1:2::1');
    assert.equal(k, '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), k);
    assert.equal(addressKey('2001:DB8:1:2:0:0:0:abcd%eth0'), k);
    assert.notEqual(addressKey('2001:db8:1:3::1'), k);
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.equal(addressKey('unknown'), 'unknown');
  });
});
