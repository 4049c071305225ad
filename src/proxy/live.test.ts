import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHostFiles, hostFileName } from './host-files.js';
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

  it('clears a marker (host files stay), removes a route slot, and prunes route slots that are gone', async () => {
    await live.set('blog', { slot: 'a', replicas: 1 });
    await createHostFiles(dir).set('blog', ['blog.pi.example']);
    await live.set('old', { slot: 'b', replicas: 1 });
    await live.clear('blog');
    assert.deepEqual(readdirSync(join(dir, 'blog')), ['hosts']);
    await live.remove('blog');
    assert.equal(existsSync(join(dir, 'blog')), false);
    await live.prune(new Set(['shop']));
    assert.deepEqual(readdirSync(dir), ['shop']);
    await createLiveMarkers(join(root, 'missing')).prune(new Set()); // no dir: nothing to do
    assert.equal(existsSync(join(root, 'missing')), false);
  });
});

describe('host files', () => {
  const root = mkdtempSync(join(tmpdir(), 'hiy-hosts-'));
  const dir = join(root, 'live');
  const hosts = createHostFiles(dir);
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps exactly the given hosts of a route slot, readable by another user', async () => {
    await hosts.set('3', ['shop.pi.example', 'Shop.Example.com.']);
    assert.deepEqual(readdirSync(join(dir, '3', 'hosts')).sort(), ['shop.example.com', 'shop.pi.example']);
    const inode = statSync(join(dir, '3', 'hosts', 'shop.pi.example')).ino;
    await hosts.set('3', ['shop.pi.example', 'www.example.com']);
    assert.deepEqual(readdirSync(join(dir, '3', 'hosts')).sort(), ['shop.pi.example', 'www.example.com']);
    assert.equal(statSync(join(dir, '3', 'hosts', 'shop.pi.example')).ino, inode, 'a kept host is never re-made');
    for (const p of [dir, join(dir, '3'), join(dir, '3', 'hosts')]) assert.equal(statSync(p).mode & 0o777, 0o711, p);
    assert.equal(statSync(join(dir, '3', 'hosts', 'www.example.com')).mode & 0o777, 0o644);
  });

  it('refuses names that are no hostname (they would be paths)', () => {
    for (const bad of ['..', '.', 'a/b', '', 'a..b', '*.example.com', 'x y']) assert.throws(() => hostFileName(bad), /not a hostname/, bad);
  });
});
