import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerInfo } from '../runtime/runtime.js';
import { drainAndStop, waitUntilIdle } from './drain.js';

// Logic only: the real proof (Caddy's in-flight counts, a release that dies on SIGTERM with a
// slow request in flight) is tests/e2e/zero-downtime.test.ts and tests/proxy/caddy.test.ts.
const container = (id: string, hostPort: number | null) => ({ id, hostPort } as ContainerInfo);

describe('drain', () => {
  it('waits until Caddy has nothing in flight to the ports, then stops with the rest of drain_s as grace', async () => {
    const counts = [2, 1, 0];
    const asked: number[][] = [];
    const stopped: [string, number][] = [];
    const removed: string[] = [];
    const t0 = Date.now();
    await drainAndStop({
      proxy: { inFlight: async (ports) => { asked.push(ports); return counts.shift() ?? 0; } },
      runtime: { stop: async (id, s) => { stopped.push([id, s]); }, remove: async (id) => { removed.push(id); } },
    }, { drain_s: 10 }, [container('web', 20001), container('worker', null)]);
    assert.deepEqual(asked, [[20001], [20001], [20001]], 'only the web port is asked about, until it is idle');
    assert.ok(Date.now() - t0 >= 150, 'settle + two polls');
    assert.deepEqual(stopped.map(([id]) => id).sort(), ['web', 'worker']);
    for (const [, s] of stopped) assert.ok(s === 10 || s === 9, `grace ${s} s: what is left of drain_s`);
    assert.deepEqual(removed.sort(), ['web', 'worker']);
  });

  it('never waits past the deadline, and waits at most a second when Caddy cannot tell', async () => {
    let t0 = Date.now();
    await waitUntilIdle({ inFlight: async () => 1 }, [1], Date.now() + 300);
    const busy = Date.now() - t0;
    assert.ok(busy >= 280 && busy < 1_000, `busy forever: gave up after ${busy} ms`);
    t0 = Date.now();
    await waitUntilIdle({ inFlight: async () => undefined }, [1], Date.now() + 10_000);
    const blind = Date.now() - t0;
    assert.ok(blind >= 900 && blind < 2_000, `blind: waited ${blind} ms`);
  });

  it('a drain of 0 s still gives SIGTERM one second', async () => {
    const stopped: number[] = [];
    await drainAndStop({ proxy: { inFlight: async () => 5 }, runtime: { stop: async (_id, s) => { stopped.push(s); }, remove: async () => undefined } }, { drain_s: 0 }, [container('web', 1)]);
    assert.deepEqual(stopped, [1]);
  });
});
