import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, pack } from 'tar-stream';
import { addTree } from './archive.js';

/** Packs `root` with addTree (calling `during` for each entry before it is read) and lists the archive. */
async function packed(root: string, during: (rel: string) => void = () => undefined): Promise<{ entries: Map<string, string>; skipped: string[] }> {
  const p = pack();
  const ex = extract();
  p.pipe(ex as unknown as NodeJS.WritableStream);
  const entries = new Map<string, string>();
  const read = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      entries.set(`${e.header.type}:${e.header.name}`, e.header.type === 'symlink' ? e.header.linkname ?? '' : Buffer.concat(chunks).toString());
    }
  })();
  const r = await addTree(p, 'v', root, (rel) => { during(rel); return false; });
  p.finalize();
  await read;
  return { entries, skipped: r.skipped };
}

describe('addTree: an app\'s tree is read without following its links', { timeout: 20_000 }, () => {
  it('a folder swapped for a link to a secret while it is being read is never followed', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hiy-archive-'));
    try {
      const secrets = join(base, 'secrets');
      mkdirSync(secrets);
      writeFileSync(join(secrets, 'file'), 'HOST SECRET');
      const root = join(base, 'volume');
      mkdirSync(join(root, 'real'), { recursive: true });
      writeFileSync(join(root, 'real', 'file'), 'mine');
      // Exactly when the folder has been checked and entered, the app puts a link in its place.
      const { entries } = await packed(root, (rel) => {
        if (rel === 'real/file') {
          renameSync(join(root, 'real'), join(root, 'moved'));
          symlinkSync(secrets, join(root, 'real'));
        }
      });
      assert.equal(entries.get('file:v/real/file'), 'mine', 'the folder that was opened is what is read');
      for (const [name, content] of entries) assert.ok(!content.includes('HOST SECRET'), `${name} holds the host's secret`);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('links are stored as links, also one that replaced a file just before it was read; sparse files are left out and reported', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hiy-archive-'));
    try {
      writeFileSync(join(base, 'secret'), 'HOST SECRET');
      const root = join(base, 'volume');
      mkdirSync(root);
      writeFileSync(join(root, 'a'), 'mine');
      symlinkSync(join(base, 'secret'), join(root, 'link'));
      const sparse = join(root, 'sparse');
      writeFileSync(sparse, '');
      const { truncateSync } = await import('node:fs');
      truncateSync(sparse, 100 * 1024 * 1024);
      const { entries, skipped } = await packed(root, (rel) => {
        if (rel === 'a') {
          rmSync(join(root, 'a'));
          symlinkSync(join(base, 'secret'), join(root, 'a'));
        }
      });
      assert.equal(entries.get('symlink:v/link'), join(base, 'secret'));
      assert.equal(entries.has('file:v/sparse'), false);
      assert.equal(entries.get('symlink:v/a'), join(base, 'secret'));
      assert.equal(entries.has('file:v/a'), false);
      for (const [name, content] of entries) assert.ok(!content.includes('HOST SECRET'), `${name} holds the host's secret`);
      assert.ok(skipped.some((s) => /^sparse: sparse \(104857600 bytes/.test(s)), skipped.join('; '));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
