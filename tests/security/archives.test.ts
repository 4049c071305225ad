/**
 * The build context. Through the real git remote: a pushed symlink to /etc/passwd, to the data dir
 * or up out of the tree is refused before anything is built. Through the internal endpoint (with
 * the hook's own token, as a compromised hook would send it): archives with `..`, absolute paths,
 * hardlinks, devices, FIFOs, symlink escapes and files beneath a symlink are refused. Each refusal
 * says why, builds no image, starts no container, moves no ref and leaves no temp file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, symlinkSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pack as tarPack, type Header } from 'tar-stream';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { hookToken } from './support.js';

const APP = `sec-ar-${randomBytes(3).toString('hex')}`;

function tarOf(entries: (Partial<Header> & { name: string; content?: string })[]): Promise<Buffer> {
  const p = tarPack();
  for (const e of entries) {
    const { content, ...h } = e;
    if (content !== undefined) p.entry({ ...h, size: Buffer.byteLength(content) }, content);
    else p.entry(h);
  }
  p.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    p.on('data', (c) => { chunks.push(c as Buffer); });
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
}

const DOCKERFILE = { name: 'Dockerfile', type: 'file' as const, mode: 0o644, content: 'FROM hiy-test/busybox:1\nCOPY . /ctx\nCMD ["httpd", "-f", "-p", "8080"]\n' };

describe('archives that try to leave the source tree are refused', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let wc: WorkingCopy;
  const gitDir = () => join(hiy.dataDir, 'repos', `${APP}.git`);
  const ref = async () => (await run('git', ['--git-dir', gitDir(), 'for-each-ref'])).stdout;

  async function noTrace(): Promise<void> {
    assert.equal((await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`])).stdout.trim(), '', 'no container');
    assert.equal((await docker(['images', '-q', `hiy/${APP}`])).stdout.trim(), '', 'no image');
    for (const dir of ['tmp', 'sources']) {
      const p = join(hiy.dataDir, dir);
      assert.deepEqual(existsSync(p) ? readdirSync(p) : [], [], `nothing left in ${dir}/`);
    }
  }

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy();
    api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080 })).status, 201);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('git push: symlinks to /etc/passwd, to the data dir and up out of the tree are refused', async () => {
    const links: [string, string, RegExp][] = [
      ['passwd', '/etc/passwd', /symlink passwd points to the absolute path "\/etc\/passwd"/],
      ['data', hiy.dataDir, /points to the absolute path/],
      ['up', '../../../../../../etc/passwd', /symlink up points outside the source tree/],
      ['www/deep', '../../secrets', /symlink www\/deep points outside the source tree/],
    ];
    for (const [path, target, message] of links) {
      symlinkSync(target, join(wc.dir, path));
      await wc.commit(`link ${path}`);
      const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
      assert.notEqual(push.code, 0, `${path} → ${target} was accepted`);
      assert.match(push.stderr, /the source archive was refused/);
      assert.match(push.stderr, message);
      assert.match(push.stderr, /pre-receive hook declined/);
      assert.equal(await ref(), '', 'the branch did not move');
      await wc.git('reset', '-q', '--hard', 'HEAD~1');
    }
    await noTrace();
  });

  test('internal endpoint: crafted archives are refused with the reason', async () => {
    const token = hookToken(hiy.dataDir);
    const cases: [string, (Partial<Header> & { name: string; content?: string })[], RegExp][] = [
      ['dot-dot path', [DOCKERFILE, { name: '../evil.txt', type: 'file', content: 'x' }], /leaves the source tree/],
      ['dot-dot inside a path', [DOCKERFILE, { name: 'a/../../evil.txt', type: 'file', content: 'x' }], /leaves the source tree/],
      ['absolute path', [DOCKERFILE, { name: '/etc/evil', type: 'file', content: 'x' }], /absolute path/],
      ['hardlink to /etc/passwd', [DOCKERFILE, { name: 'passwd', type: 'link', linkname: '/etc/passwd' }], /hardlink/],
      ['hardlink inside the tree', [DOCKERFILE, { name: 'copy', type: 'link', linkname: 'Dockerfile' }], /hardlink/],
      ['absolute symlink', [DOCKERFILE, { name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }], /absolute path/],
      ['symlink climbing out', [DOCKERFILE, { name: 'up', type: 'symlink', linkname: '../..' }], /outside the source tree/],
      ['symlink chain climbing out', [DOCKERFILE, { name: 'a', type: 'directory' }, { name: 'a/b', type: 'symlink', linkname: '..' }, { name: 'c', type: 'symlink', linkname: 'a/b/../..' }], /through another symlink/],
      ['file beneath a symlink', [DOCKERFILE, { name: 'd', type: 'symlink', linkname: '.' }, { name: 'd/x', type: 'file', content: 'x' }], /beneath the symlink/],
      ['character device', [DOCKERFILE, { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], /not a file, directory or symlink/],
      ['fifo', [DOCKERFILE, { name: 'pipe', type: 'fifo' }], /not a file, directory or symlink/],
      ['not a tar at all', [], /not a valid tar archive|no Dockerfile|nothing/i],
    ];
    for (const [name, entries, message] of cases) {
      const body = entries.length ? await tarOf(entries) : Buffer.from('this is not a tar archive, just text that is long enough'.repeat(20));
      const sha = randomBytes(20).toString('hex');
      const res = await fetch(`${hiy.url}/internal/deploy?app=${APP}&ref=refs/heads/main&sha=${sha}`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' }, body: new Uint8Array(body),
      });
      assert.equal(res.status, 200, name);
      const text = await res.text();
      assert.match(text, /@@hiy-result failed/, `${name}: ${text}`);
      assert.match(text, message, `${name}: ${text}`);
    }
    await noTrace();
    // Every attempt is recorded as a failed deploy with the reason, nothing else.
    const deploys = (await api('GET', `/apps/${APP}/deploys?limit=50`)).body.deploys as { status: string }[];
    assert.ok(deploys.every((d) => d.status === 'failed'), JSON.stringify(deploys));
  });

  test('a symlink inside the tree still works, and the image holds the tree only', async () => {
    mkdirSync(join(wc.dir, 'docs'), { recursive: true });
    wc.write('docs/a.txt', 'inside\n');
    symlinkSync('docs/a.txt', join(wc.dir, 'www', 'a.txt'.replace('a.txt', 'link.txt')));
    symlinkSync('../docs/a.txt', join(wc.dir, 'www', 'up-but-inside.txt'));
    wc.write('Dockerfile', DOCKERFILE.content);
    await wc.commit('inside links');
    const push = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(push.code, 0, push.stderr);
    const image = `hiy/${APP}:${(await wc.git('rev-parse', 'HEAD')).stdout.trim()}`;
    const cat = await docker(['run', '--rm', '--label', 'hiy.test=1', '--label', `hiy.app=${APP}`, '--entrypoint', 'cat', image, '/ctx/www/up-but-inside.txt']);
    assert.equal(cat.stdout, 'inside\n');
    const ls = await docker(['run', '--rm', '--label', 'hiy.test=1', '--label', `hiy.app=${APP}`, '--entrypoint', 'ls', image, '-a', '/ctx']);
    assert.doesNotMatch(ls.stdout, /secrets|hiy\.db|\.git\b/, 'nothing of the data dir or the repo internals is in the image');
  });
});
