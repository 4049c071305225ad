import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLiveMarkers, liveMarkerName, parseLiveMarker } from './live.js';

describe('live markers', () => {
  const root = mkdtempSync(join(tmpdir(), 'hiy-live-'));
  const dir = join(root, 'run', 'live');
  const live = createLiveMarkers(dir);
  after(() => rmSync(root, { recursive: true, force: true }));

  it('names a state by slot and replica count, and reads it back', () => {
    assert.equal(liveMarkerName({ slot: 'b', replicas: 3 }), 'b3');
    assert.deepEqual(parseLiveMarker('a1'), { slot: 'a', replicas: 1 });
    for (const bad of ['c1', 'a0', 'a10', 'a', '../a1', 'a1.tmp']) assert.equal(parseLiveMarker(bad), undefined, bad);
    assert.throws(() => liveMarkerName({ slot: 'a', replicas: 0 }), /out of range/);
  });

  it('keeps exactly one marker per app, moving it by rename, readable by another user', async () => {
    assert.equal(await live.get('shop'), undefined);
    await live.set('shop', { slot: 'a', replicas: 1 });
    const inode = statSync(join(dir, 'shop', 'a1')).ino;
    await live.set('shop', { slot: 'b', replicas: 2 });
    assert.deepEqual(readdirSync(join(dir, 'shop')), ['b2']);
    assert.equal(statSync(join(dir, 'shop', 'b2')).ino, inode, 'the same file, renamed (atomic for Caddy)');
    assert.deepEqual(await live.get('shop'), { slot: 'b', replicas: 2 });
    await live.set('shop', { slot: 'b', replicas: 2 }); // unchanged
    assert.deepEqual(readdirSync(join(dir, 'shop')), ['b2']);
    for (const p of [dir, join(dir, 'shop')]) assert.equal(statSync(p).mode & 0o777, 0o711, p);
    assert.equal(statSync(join(dir, 'shop', 'b2')).mode & 0o777, 0o644);
  });

  it('clears one app and prunes apps that are gone', async () => {
    await live.set('blog', { slot: 'a', replicas: 1 });
    await live.set('old', { slot: 'b', replicas: 1 });
    await live.clear('blog');
    assert.equal(await live.get('blog'), undefined);
    await live.prune(new Set(['shop']));
    assert.deepEqual(readdirSync(dir), ['shop']);
    await createLiveMarkers(join(root, 'missing')).prune(new Set()); // no dir: nothing to do
  });
});
