import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrashLoopRule, DownRule, ThresholdRule } from './rules.js';

describe('alert rules', () => {
  it('threshold: one open, one resolve, no flapping around the limit', () => {
    const r = new ThresholdRule(80, 2);
    assert.deepEqual([79, 81, 85, 79, 81, 77, 81].map((v) => r.update(v)), ['none', 'open', 'none', 'none', 'none', 'resolve', 'open']);
  });

  it('down: opens after the whole duration of failures, resolves at the first success', () => {
    const r = new DownRule(120_000);
    assert.equal(r.update(false, 0), 'none');
    assert.equal(r.update(false, 119_999), 'none');
    assert.equal(r.update(false, 120_000), 'open');
    assert.equal(r.update(false, 200_000), 'none');
    assert.equal(r.update(true, 210_000), 'resolve');
    assert.equal(r.update(true, 220_000), 'none');
  });

  it('down: a success in between starts the count again', () => {
    const r = new DownRule(10);
    r.update(false, 0);
    r.update(true, 5);
    assert.equal(r.update(false, 11), 'none');
    assert.equal(r.update(false, 21), 'open');
  });

  it('down: an incident left open by the last run resolves on success', () => {
    assert.equal(new DownRule(10, true).update(true, 0), 'resolve');
  });

  it('crash loop: rising restart counts open, a quiet window resolves', () => {
    const r = new CrashLoopRule(3, 60_000);
    assert.equal(r.update([{ id: 'a', restartCount: 7 }], 0), 'none', 'restarts before hiy looked do not count');
    assert.equal(r.update([{ id: 'a', restartCount: 8 }], 1000), 'none');
    assert.equal(r.update([{ id: 'a', restartCount: 10 }], 2000), 'open');
    assert.equal(r.update([{ id: 'a', restartCount: 12 }], 3000), 'none');
    assert.equal(r.update([{ id: 'a', restartCount: 12 }], 62_999), 'none');
    assert.equal(r.update([{ id: 'a', restartCount: 12 }], 63_000), 'resolve');
  });

  it('crash loop: a replaced container does not count as restarts', () => {
    const r = new CrashLoopRule(1, 60_000);
    r.update([{ id: 'a', restartCount: 5 }], 0);
    assert.equal(r.update([{ id: 'b', restartCount: 0 }], 1), 'none');
  });
});
