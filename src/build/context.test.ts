import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import { HiyError } from '../errors.js';
import { entryPath, prepareBuildContext, type ContextLimits } from './context.js';
import { DEFAULT_BUILD_IMAGES } from '../base-images.js';

const DETECT = { images: DEFAULT_BUILD_IMAGES, dockerfilePath: null, app: 'ctx', cacheMounts: false };

type E = Partial<Header> & { name: string; content?: string };

async function tarOf(entries: E[]): Promise<Buffer> {
  const p = pack();
  for (const { content, ...h } of entries) p.entry({ mode: 0o644, ...h }, content ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function contents(stream: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = extract();
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(`${entry.header.type}:${entry.header.name}${entry.header.linkname ? ` -> ${entry.header.linkname}` : ''}`, Buffer.concat(chunks).toString());
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'hiy-ctx-test-'));
const lim = (l: Partial<ContextLimits> = {}): Partial<ContextLimits> => ({ tmpDir: tmp, ...l });

async function refused(entries: E[], pattern: RegExp, limits: Partial<ContextLimits> = {}): Promise<void> {
  await assert.rejects(prepareBuildContext(Readable.from([await tarOf(entries)]), lim(limits), DETECT), (e: unknown) => {
    assert.ok(e instanceof HiyError, String(e));
    assert.equal(e.code, 'build_failed');
    assert.match(e.message, pattern);
    return true;
  });
}

const dockerfile: E = { name: 'Dockerfile', content: 'FROM scratch\n' };

describe('build context', { timeout: 30_000 }, () => {
  test('paths: ./ and trailing slashes go; absolute paths and .. are refused', () => {
    assert.equal(entryPath('./a/b/'), 'a/b');
    assert.equal(entryPath('a//b'), 'a/b');
    assert.equal(entryPath('./'), '');
    assert.throws(() => entryPath('/etc/passwd'), /absolute path/);
    assert.throws(() => entryPath('a/../../evil'), /leaves the source tree/);
  });

  test('.dockerignore drops files (Docker semantics, ! exceptions); Dockerfile and .dockerignore are always sent', async () => {
    const tar = await tarOf([
      { name: 'pax_global_header', type: 'directory' },
      { name: '.dockerignore', content: 'Dockerfile\n.dockerignore\n*.md\nnode_modules\nwww/drafts/\n!www/drafts/ok.html\n' },
      dockerfile,
      { name: 'README.md', content: 'readme' },
      { name: 'docs/guide.md', content: 'nested md is not matched by *.md' },
      { name: 'node_modules/', type: 'directory' },
      { name: 'node_modules/x/index.js', content: 'x' },
      { name: 'www/', type: 'directory' },
      { name: 'www/index.html', content: 'hi' },
      { name: 'www/drafts/', type: 'directory' },
      { name: 'www/drafts/secret.html', content: 'no' },
      { name: 'www/drafts/ok.html', content: 'yes' },
      { name: 'www/link', type: 'symlink', linkname: 'index.html' },
    ]);
    const ctx = await prepareBuildContext(Readable.from([tar]), lim(), DETECT);
    try {
      const got = await contents(ctx.stream());
      assert.deepEqual([...got.keys()].sort(), [
        'directory:pax_global_header', 'directory:www', 'file:.dockerignore', 'file:Dockerfile', 'file:docs/guide.md', 'file:www/drafts/ok.html', 'file:www/index.html', 'symlink:www/link -> index.html',
      ]);
      assert.equal(got.get('file:www/index.html'), 'hi');
      assert.equal(ctx.ignored, 5);
      assert.equal(ctx.entries, 13);
      // The stream can be read again (a retry) and gives the same.
      assert.deepEqual([...(await contents(ctx.stream())).keys()].sort(), [...got.keys()].sort());
    } finally {
      await ctx.dispose();
    }
  });

  test('a real git archive (with its pax global header) passes through', async () => {
    const { execFileSync } = await import('node:child_process');
    const repo = mkdtempSync(join(tmp, 'repo-'));
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: repo });
    git('init', '-q');
    execFileSync('sh', ['-c', 'printf "FROM scratch\\n" > Dockerfile && mkdir -p a/b && echo x > a/b/c && ln -s b/c a/l'], { cwd: repo });
    git('add', '-A');
    git('commit', '-qm', 'x');
    const ctx = await prepareBuildContext(Readable.from([git('archive', '--format=tar', 'HEAD')]), lim(), DETECT);
    try {
      assert.deepEqual([...(await contents(ctx.stream())).keys()].sort(), ['directory:a', 'directory:a/b', 'file:Dockerfile', 'file:a/b/c', 'symlink:a/l -> b/c']);
    } finally {
      await ctx.dispose();
    }
  });

  test('entries with ../ components are refused', () => refused([dockerfile, { name: '../evil', content: 'x' }], /\.\.\/evil.*leaves the source tree/));
  test('absolute entries are refused', () => refused([dockerfile, { name: '/etc/cron.d/evil', content: 'x' }], /absolute path/));
  test('symlinks leaving the tree are refused', async () => {
    await refused([dockerfile, { name: 'a/escape', type: 'symlink', linkname: '../../etc/passwd' }], /symlink a\/escape points outside/);
    await refused([dockerfile, { name: 'abs', type: 'symlink', linkname: '/etc/passwd' }], /absolute path/);
  });
  test('hardlinks and devices are refused', async () => {
    await refused([dockerfile, { name: 'h', type: 'link', linkname: 'Dockerfile' }], /hardlink h/);
    await refused([dockerfile, { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }], /character-device/);
  });
  test('a tree with nothing to build says what is looked for', () => refused([{ name: 'app.js', content: '' }], /does not know how to build this app[\s\S]*a Dockerfile at the root[\s\S]*package\.json[\s\S]*add a Dockerfile/));
  test('a generated build gets its Dockerfile and a .dockerignore keeping it out of COPY; the user tree is untouched', async () => {
    const ctx = await prepareBuildContext(Readable.from([await tarOf([
      { name: 'package.json', content: '{"scripts":{"start":"node server.js"}}' },
      { name: 'server.js', content: 'x' },
      { name: '.dockerignore', content: 'secret.txt' },
      { name: 'secret.txt', content: 'x' },
    ])]), lim(), DETECT);
    try {
      assert.equal(ctx.plan.strategy, 'node');
      assert.equal(ctx.plan.dockerfilePath, '.hiy.Dockerfile');
      const files = await contents(ctx.stream());
      assert.deepEqual([...files.keys()].sort(), ['file:.dockerignore', 'file:.hiy.Dockerfile', 'file:package.json', 'file:server.js']);
      assert.match(files.get('file:.hiy.Dockerfile') ?? '', /^FROM node:22-bookworm-slim AS deps$/m);
      assert.equal(files.get('file:.dockerignore'), 'secret.txt\n.hiy.Dockerfile\n.dockerignore\n');
    } finally {
      await ctx.dispose();
    }
  });
  test('size and entry count are capped', async () => {
    await refused([dockerfile, { name: 'big', content: 'x'.repeat(64 * 1024) }], /larger than the limit/, { maxBytes: 32 * 1024 });
    await refused([dockerfile, { name: 'a' }, { name: 'b' }, { name: 'c' }], /more than 3 entries/, { maxEntries: 3 });
  });
  test('checking runs with a hard time limit: past it the worker is stopped and the build fails with the reason', async () => {
    await refused([dockerfile, { name: 'a', content: 'x' }], /checking and packing it took longer than 5 ms/, { checkTimeoutMs: 5 });
  });
  test('garbage is not a tar archive', async () => {
    await assert.rejects(prepareBuildContext(Readable.from([Buffer.alloc(2048, 'z')]), lim(), DETECT), /not a valid tar archive/);
  });

  test('nothing is left in the temp dir, whether the context was refused or used', () => {
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('hiy-build-')), []);
    rmSync(tmp, { recursive: true, force: true });
  });
});
