import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appStatus } from '../src/apps/status.js';
import { bytes, downsample, duration, relativeTime, sparkPoints, widthClass } from './format.js';
import type { ContainerInfo } from '../src/runtime/runtime.js';

describe('dashboard formatting', { timeout: 10_000 }, () => {
  it('draws sparklines inside their box', () => {
    assert.equal(sparkPoints([]), '');
    assert.equal(sparkPoints([0, 100], 100, 24, 100), '0,23 100,1');
    assert.equal(sparkPoints([5], 100, 24, 10), '0,12 100,12');
    assert.equal(sparkPoints([1, 2, 3], 100, 24, 3), '0,15.7 50,8.3 100,1');
    const pts = sparkPoints([1, 2, 3, 2, 1]).split(' ').map((p) => p.split(',').map(Number));
    assert.equal(pts.length, 5);
    for (const [x, y] of pts) assert.ok(x! >= 0 && x! <= 100 && y! >= 1 && y! <= 23);
    assert.equal(sparkPoints([NaN, 200], 100, 24, 100), '0,1 100,1', 'non-finite skipped, values clamped to max');
  });

  it('downsamples long series to bucket means', () => {
    assert.deepEqual(downsample([1, 2, 3], 5), [1, 2, 3]);
    assert.deepEqual(downsample([1, 3, 5, 7], 2), [2, 6]);
    const hour = Array.from({ length: 360 }, (_, i) => i);
    const d = downsample(hour, 40);
    assert.equal(d.length, 40);
    assert.equal(d[0], 4);
    assert.equal(d[39], 355);
  });

  it('formats times, sizes and widths', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(relativeTime('2026-01-01T11:59:58Z', now), 'just now');
    assert.equal(relativeTime('2026-01-01T11:55:00Z', now), '5 min ago');
    assert.equal(relativeTime('2026-01-01T12:00:30Z', now), 'in 30 s');
    assert.equal(relativeTime('2026-01-01T23:59:00Z', now), 'in 11 h');
    assert.equal(relativeTime('2026-03-01T12:00:00Z', now), 'in 59 d');
    assert.equal(relativeTime('2025-12-30T12:00:00Z', now), '2 d ago');
    assert.equal(relativeTime(null, now), '—');
    assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:00:03.5Z'), '3.5 s');
    assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:02:05Z'), '2 min 5 s');
    assert.equal(bytes(1536), '1.5 KB');
    assert.equal(bytes(512 * 1024 * 1024), '512 MB');
    assert.equal(widthClass(42), 'w40');
    assert.equal(widthClass(250), 'w100');
  });

});

const ct = (over: Partial<ContainerInfo>): ContainerInfo => ({
  id: 'c', name: 'n', image: 'i', state: 'running', running: true, app: 'a', process: 'web', replica: 0, deployId: null, slot: null, run: null, attached: false, instance: null, restartCount: 0, exitCode: 0, startedAt: null, hostPort: null, ...over,
});

describe('app status', { timeout: 10_000 }, () => {
  it('covers running, building, stopped, crashed, failed and never deployed', () => {
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({})] }).status, 'running');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'building' }, containers: [ct({})] }).status, 'building');
    assert.equal(appStatus({ hasRelease: false, lastDeploy: { status: 'queued' }, containers: [] }).label, 'queued');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [] }).status, 'stopped');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({ state: 'exited', running: false, exitCode: 0 })] }).status, 'stopped');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({ state: 'restarting', running: false })] }).status, 'crashed');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({ state: 'exited', running: false, exitCode: 1 })] }).status, 'crashed');
    assert.equal(appStatus({ hasRelease: false, lastDeploy: { status: 'failed' }, containers: [] }).status, 'failed');
    assert.equal(appStatus({ hasRelease: false, lastDeploy: undefined, containers: [] }).label, 'not deployed');
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: undefined }).status, 'unknown');
    const kept = appStatus({ hasRelease: true, lastDeploy: { status: 'failed' }, containers: [ct({})] });
    assert.equal(kept.status, 'running');
    assert.match(kept.note ?? '', /last deploy failed/);
    // A worker that runs does not make a crashed web process look fine.
    assert.equal(appStatus({ hasRelease: true, lastDeploy: { status: 'success' }, containers: [ct({ process: 'worker' }), ct({ state: 'restarting', running: false })] }).status, 'crashed');
  });
});
