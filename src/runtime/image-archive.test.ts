import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { extract, pack } from 'tar-stream';
import { renameSavedImage } from './image-archive.js';

type Entry = { name: string; content?: string; type?: 'file' | 'directory' };

function archive(entries: Entry[]): Readable {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', mode: 0o644 }, e.content ?? '');
  p.finalize();
  return Readable.from(p, { objectMode: false });
}

async function read(stream: Readable): Promise<Map<string, string>> {
  const ex = extract();
  stream.on('error', (err) => ex.destroy(err));
  stream.pipe(ex);
  const out = new Map<string, string>();
  for await (const e of ex) {
    let s = '';
    for await (const c of e) s += (c as Buffer).toString();
    out.set(e.header.name, s);
  }
  return out;
}

const manifest = (tags: string[] | null, n = 1) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ Config: `${i}abc.json`, RepoTags: tags, Layers: [`${i}/layer.tar`] })));

describe('a docker save archive renamed on its way to the engine', { timeout: 10_000 }, () => {
  it('names its one image hiy\'s tag alone, drops the legacy names and keeps the layers', async () => {
    const out = await read(renameSavedImage(archive([
      { name: 'aaa/', type: 'directory' },
      { name: 'aaa/layer.tar', content: 'LAYER BYTES' },
      { name: '0abc.json', content: '{"architecture":"amd64"}' },
      { name: 'manifest.json', content: manifest(['node:22-bookworm-slim', 'hiy/other:abc']) },
      { name: 'repositories', content: '{"node":{"22-bookworm-slim":"x"}}' },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ digest: 'sha256:1', annotations: { 'io.containerd.image.name': 'docker.io/library/node:22', 'org.opencontainers.image.ref.name': '22', keep: 'me' } }] }) },
    ]), 'hiy/shop:upload-7'));
    assert.equal(out.get('aaa/layer.tar'), 'LAYER BYTES');
    assert.equal(out.get('0abc.json'), '{"architecture":"amd64"}');
    assert.deepEqual(JSON.parse(out.get('manifest.json')!)[0].RepoTags, ['hiy/shop:upload-7']);
    assert.equal(out.has('repositories'), false);
    assert.deepEqual(JSON.parse(out.get('index.json')!).manifests[0].annotations, { keep: 'me' });
  });

  it('an image saved by id (no names) gets the tag too', async () => {
    const out = await read(renameSavedImage(archive([{ name: 'manifest.json', content: manifest(null) }]), 'hiy/shop:upload-1'));
    assert.deepEqual(JSON.parse(out.get('manifest.json')!)[0].RepoTags, ['hiy/shop:upload-1']);
  });

  it('fails the stream for two images, no manifest, or something that is not a tar', async () => {
    await assert.rejects(read(renameSavedImage(archive([{ name: 'manifest.json', content: manifest(['a:1', 'b:1'], 2) }]), 't:1')), /holds 2 images; save exactly one/);
    await assert.rejects(read(renameSavedImage(archive([{ name: 'a.txt', content: 'x' }]), 't:1')), /no manifest\.json/);
    await assert.rejects(read(renameSavedImage(archive([{ name: 'manifest.json', content: '{nope' }]), 't:1')), /manifest\.json is not JSON/);
    await assert.rejects(read(renameSavedImage(Readable.from([Buffer.alloc(3000, 7)]), 't:1')), /not one image saved with docker save/);
  });
});
