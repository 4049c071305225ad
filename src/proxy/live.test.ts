import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLiveMarkers, liveMarkerName } from './live.js';

describe('live markers', () => {
  const root = mkdtempSync(join(tmpdir(), 'hiy-live-'));
  const dir = join(root, 'run', 'live');
  const live = createLiveMarkers(dir);
  after(() => rmSync(root, { recursive: true, force: true }));

  it('names a state by slot and replica count', () => {
    assert.equal(liveMarkerName({ slot: 'b', replicas: 3 }), 'b3');
    assert.throws(() => liveMarkerName({ slot: 'a', replicas: 0 }), /out of range/);
  });

  it('keeps exactly one marker per app, moving it by rename, readable by another user', async () => {
    assert.equal(existsSync(join(dir, 'shop')), false);
    await live.set('shop', { slot: 'a', replicas: 1 });
    const inode = statSync(join(dir, 'shop', 'a1')).ino;
    await live.set('shop', { slot: 'b', replicas: 2 });
    assert.deepEqual(readdirSync(join(dir, 'shop')), ['b2']);
    assert.equal(statSync(join(dir, 'shop', 'b2')).ino, inode, 'the same file, renamed (atomic for Caddy)');
    await live.set('shop', { slot: 'b', replicas: 2 }); // unchanged
    assert.deepEqual(readdirSync(join(dir, 'shop')), ['b2']);
    writeFileSync(join(dir, 'shop', 'a1'), ''); // a stray second marker (hand-made): gone after the next move
    await live.set('shop', { slot: 'a', replicas: 3 });
    assert.deepEqual(readdirSync(join(dir, 'shop')), ['a3']);
    for (const p of [dir, join(dir, 'shop')]) assert.equal(statSync(p).mode & 0o777, 0o711, p);
    assert.equal(statSync(join(dir, 'shop', 'a3')).mode & 0o777, 0o644);
  });

  it('clears one app and prunes apps that are gone', async () => {
    await live.set('blog', { slot: 'a', replicas: 1 });
    await live.set('old', { slot: 'b', replicas: 1 });
    await live.clear('blog');
    assert.equal(existsSync(join(dir, 'blog')), false);
    await live.prune(new Set(['shop']));
    assert.deepEqual(readdirSync(dir), ['shop']);
    await createLiveMarkers(join(root, 'missing')).prune(new Set()); // no dir: nothing to do
    assert.equal(existsSync(join(root, 'missing')), false);
  });
});
