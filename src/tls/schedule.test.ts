import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { covers, DAY_MS, renewAt, retryDelayMs, warnAt } from './schedule.js';

const at = (iso: string) => new Date(iso);

describe('certificate schedule', () => {
  it('renews two thirds into the lifetime (30 days before the end of a 90-day certificate)', () => {
    const v = { notBefore: at('2026-01-01T00:00:00Z'), notAfter: new Date(Date.parse('2026-01-01T00:00:00Z') + 90 * DAY_MS) };
    assert.equal(renewAt(v).toISOString(), new Date(v.notAfter.getTime() - 30 * DAY_MS).toISOString());
    assert.equal(renewAt({ notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-01-01T00:00:30Z') }).toISOString(), '2026-01-01T00:00:20.000Z');
  });

  it('warns 14 days before the end, or a sixth of a short lifetime before it; always after renewal is due', () => {
    const long = { notBefore: at('2026-01-01T00:00:00Z'), notAfter: new Date(Date.parse('2026-01-01T00:00:00Z') + 90 * DAY_MS) };
    assert.equal(long.notAfter.getTime() - warnAt(long).getTime(), 14 * DAY_MS);
    const sixDays = { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-01-07T00:00:00Z') };
    assert.equal(sixDays.notAfter.getTime() - warnAt(sixDays).getTime(), DAY_MS);
    for (const v of [long, sixDays]) assert.ok(warnAt(v) > renewAt(v));
  });

  it('backs off exponentially after failures, capped', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, 60_000, 600_000)), [60_000, 120_000, 240_000, 480_000]);
    assert.equal(retryDelayMs(5, 60_000, 600_000), 600_000);
    assert.equal(retryDelayMs(1000), 6 * 3_600_000);
    assert.equal(retryDelayMs(0, 1000), 1000);
  });

  it('knows which names a certificate covers', () => {
    assert.ok(covers(['*.pi.example', 'pi.example'], ['pi.example', '*.pi.example']));
    assert.ok(!covers(['*.pi.example'], ['pi.example', '*.pi.example']));
  });
});
