import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HiyError } from '../errors.js';
import { createDockerCluster } from './docker-cluster.js';
import type { Docker } from './docker-client.js';

/** Only what init() calls; a real engine with live-restore on cannot be started here without touching the host's. */
function engine(info: object, calls: string[]): Docker {
  return {
    info: async () => info,
    swarmInit: async () => { calls.push('swarmInit'); },
  } as unknown as Docker;
}

describe('docker cluster: nodes:add on an engine Swarm refuses', { timeout: 10_000 }, () => {
  it('refuses with the fix while live-restore is on, and never calls swarm init', async () => {
    const calls: string[] = [];
    const cluster = createDockerCluster(engine({ LiveRestoreEnabled: true, Swarm: { LocalNodeState: 'inactive' } }, calls));
    await assert.rejects(cluster.init(), (e: unknown) => e instanceof HiyError && e.code === 'conflict'
      && /live-restore/.test(e.message) && /"live-restore": false in \/etc\/docker\/daemon\.json/.test(e.message));
    assert.deepEqual(calls, []);
  });

  it('inits an engine without live-restore once; an active Swarm is left alone', async () => {
    const calls: string[] = [];
    await createDockerCluster(engine({ LiveRestoreEnabled: false, Swarm: { LocalNodeState: 'inactive' } }, calls)).init('192.168.1.10');
    await createDockerCluster(engine({ LiveRestoreEnabled: true, Swarm: { LocalNodeState: 'active' } }, calls)).init();
    assert.deepEqual(calls, ['swarmInit']);
  });
});
