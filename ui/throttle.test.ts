import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWait, HashGate, LoginThrottle } from './throttle.js';

const policy = { freeFailures: 3, windowMs: 10 * 60_000, firstLockMs: 60_000, maxLockMs: 5 * 60_000, maxEntries: 100, globalFailures: 10, knownForMs: 3600_000 };

describe('login throttle', { timeout: 10_000 }, () => {
  it('allows a few failures, then locks for longer with each further one, up to a cap', () => {
    const t = new LoginThrottle(policy);
    const now = 1_000_000;
    assert.equal(t.fail('1.2.3.4', now), 0);
    assert.equal(t.fail('1.2.3.4', now), 0);
    assert.equal(t.fail('1.2.3.4', now), 0);
    assert.equal(t.retryAfterMs('1.2.3.4', now), 0);
    assert.equal(t.fail('1.2.3.4', now), 60_000);
    assert.equal(t.retryAfterMs('1.2.3.4', now + 1000), 59_000);
    assert.equal(t.fail('1.2.3.4', now), 120_000);
    assert.equal(t.fail('1.2.3.4', now), 240_000);
    assert.equal(t.fail('1.2.3.4', now), 300_000, 'capped');
    assert.equal(t.retryAfterMs('5.6.7.8', now), 0, 'per address');
  });

  it('forgets after a success, and after the window once the lock is over', () => {
    const t = new LoginThrottle(policy);
    for (let i = 0; i < 4; i++) t.fail('a', 0);
    t.succeed('a');
    assert.equal(t.retryAfterMs('a', 0), 0);
    for (let i = 0; i < 3; i++) t.fail('b', 0);
    assert.equal(t.fail('b', policy.windowMs + 1), 0, 'a new window');
  });

  it('counts an IPv6 /64 as one address', () => {
    const t = new LoginThrottle(policy);
    for (let i = 0; i < 4; i++) t.fail(`2001:db8:1:2::${i + 1}`, 0);
    assert.equal(t.retryAfterMs('2001:db8:1:2:ffff::9', 0), 60_000, 'another address of the same /64 is locked');
    assert.equal(t.retryAfterMs('2001:db8:1:3::1', 0), 0, 'the next /64 is not');
  });

  it('a global failure budget pauses unknown addresses; known ones and the box itself may still try', () => {
    const t = new LoginThrottle(policy);
    t.succeed('198.51.100.9', 0);
    for (let i = 0; i < 10; i++) t.fail(`203.0.113.${i}`, 1000);
    assert.deepEqual(t.check('192.0.2.1', 2000), { reason: 'paused', waitMs: policy.windowMs - 1000 });
    assert.equal(t.check('198.51.100.9', 2000), undefined, 'an address that signed in before');
    assert.equal(t.check('127.0.0.1', 2000), undefined, 'the box itself');
    assert.equal(t.check('192.0.2.1', policy.windowMs + 1001), undefined, 'the pause ends with the window');
    assert.equal(t.check('198.51.100.9', policy.knownForMs + 1), undefined);
    for (let i = 0; i < 10; i++) t.fail(`203.0.113.${i}`, policy.knownForMs + 1);
    assert.equal(t.check('198.51.100.9', policy.knownForMs + 2)?.reason, 'paused', 'known only for knownForMs');
  });

  it('remembers a bounded number of addresses', () => {
    const t = new LoginThrottle({ ...policy, maxEntries: 10 });
    for (let i = 0; i < 50; i++) t.fail(`10.0.0.${i}`, 0);
    assert.ok(t.size() <= 10);
  });

  it('says how long to wait in words', () => {
    assert.equal(formatWait(1), '1 second');
    assert.equal(formatWait(30_000), '30 seconds');
    assert.equal(formatWait(61_000), '2 minutes');
    assert.equal(formatWait(60_000), '1 minute');
  });

  it('runs at most `limit` hashes at once', async () => {
    const gate = new HashGate(1);
    let release!: () => void;
    const first = gate.tryRun(() => new Promise<number>((r) => { release = () => r(1); }));
    assert.equal(await gate.tryRun(async () => 2), undefined, 'busy');
    release();
    assert.deepEqual(await first, { value: 1 });
    assert.deepEqual(await gate.tryRun(async () => 3), { value: 3 });
  });
});
