import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryImages, type NodeRegistry } from './registry.js';

/** A registry that records pushes and prunes (the real one is tested in tests/nodes/). */
function fakeRegistry() {
  const pushes: string[] = [];
  const prunes: { app: string; keep: string[] }[] = [];
  const registry = {
    wanted: () => true,
    push: async (ref: string) => { pushes.push(ref); return `10.0.0.1:5443/${ref.split(':')[0]}@sha256:${'1'.repeat(64)}`; },
    login: async () => ({ registry: '10.0.0.1:5443', username: 'hiy', password: 'p4ss' }),
    prune: async (app: string, keep: Set<string>) => { prunes.push({ app, keep: [...keep].sort() }); return ['old']; },
  } as unknown as NodeRegistry;
  return { registry, pushes, prunes };
}

describe('registryImages: what the Swarm runtime publishes, logs in with and prunes', () => {
  test('hiy/<app>:<tag> is pushed once; other images are left as they are', async () => {
    const { registry, pushes } = fakeRegistry();
    const r = registryImages(registry);
    assert.match((await r.publishImage('hiy/shop:abc')).ref, /^10\.0\.0\.1:5443\/hiy\/shop@sha256:/);
    await r.publishImage('hiy/shop:abc');
    assert.deepEqual(pushes, ['hiy/shop:abc']);
    assert.deepEqual(await r.publishImage('postgres:17'), { ref: 'postgres:17' });
  });

  test('the login only for images of the nodes\' registry', async () => {
    const r = registryImages(fakeRegistry().registry);
    assert.deepEqual(await r.registryAuth('10.0.0.1:5443/hiy/shop@sha256:1'), { username: 'hiy', password: 'p4ss', serveraddress: '10.0.0.1:5443' });
    assert.equal(await r.registryAuth('10.0.0.1:54430/hiy/shop@sha256:1'), undefined);
    assert.equal(await r.registryAuth('docker.io/library/busybox'), undefined);
  });

  test('pruning keeps the tags of the kept image refs of that app; a pruned tag is pushed again when asked', async () => {
    const { registry, pushes, prunes } = fakeRegistry();
    const r = registryImages(registry);
    await r.publishImage('hiy/shop:old');
    assert.equal(await r.prunePublished('shop', new Set(['hiy/shop:new', 'hiy/shop:mid', 'hiy/blog:x', 'registry.example/shop:1'])), 1);
    assert.deepEqual(prunes, [{ app: 'shop', keep: ['mid', 'new'] }]);
    await r.publishImage('hiy/shop:old');
    assert.deepEqual(pushes, ['hiy/shop:old', 'hiy/shop:old']);
  });
});
