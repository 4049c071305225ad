import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWait, HashGate, LoginThrottle } from './throttle.js';

const policy = { freeFailures: 3, windowMs: 10 * 60_000, firstLockMs: 60_000, maxLockMs: 5 * 60_000, maxEntries: 100 };

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
