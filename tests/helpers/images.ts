/**
 * Base images for tests, built locally (no registry is reachable; nothing is ever pulled).
 *
 *   await ensureBusyboxImage();   // hiy-test/busybox:1 — FROM scratch + Debian's static busybox
 *   await ensureNodeImage();      // hiy-test/node:20   — busybox + the host's node and its libraries
 *
 * Both are cached by tag (built only when missing) and labelled `hiy.test.base=1`, so per-test
 * cleanup (by `hiy.test=1` or a run label) keeps them: they take seconds to rebuild.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { docker } from './docker.js';

export const BUSYBOX_IMAGE = 'hiy-test/busybox:1';
export const NODE_IMAGE = 'hiy-test/node:20';
const BASE_LABEL = 'hiy.test.base=1';

async function imageExists(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', tag])).code === 0;
}

/** Classic builder (what hiy itself uses); the docker CLI would otherwise want buildx. */
async function buildImage(dir: string, tag: string): Promise<void> {
  const r = await docker(['build', '--quiet', '--label', BASE_LABEL, '--tag', tag, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`building ${tag} failed: ${r.stderr || r.stdout}`);
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hiy-img-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** FROM scratch + /bin/busybox from Debian's busybox-static, applets installed as symlinks in /bin. */
export async function ensureBusyboxImage(tag = BUSYBOX_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await withTempDir(async (dir) => {
    copyFileSync('/bin/busybox', join(dir, 'busybox'));
    writeFileSync(join(dir, 'Dockerfile'), [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      // Programs expect these to exist; scratch has neither.
      'RUN ["/bin/busybox", "mkdir", "-p", "-m", "1777", "/tmp"]',
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      '',
    ].join('\n'));
    await buildImage(dir, tag);
  });
  return tag;
}

function execText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout) => (err ? reject(err) : resolve(String(stdout))));
  });
}

/** The absolute library paths `ldd` lists for a binary (the loader included). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await execText('ldd', [binary]);
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** Copies `src` to the same absolute path under `root` (following symlinks: the file's content). */
function copyAt(root: string, src: string): void {
  const dest = join(root, src);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(src), dest);
}

/**
 * A Node runtime image from the host's own `node` (process.execPath) plus the libraries `ldd`
 * lists, on top of the busybox image for a shell. Verified with `node -e` before it is returned.
 */
export async function ensureNodeImage(tag = NODE_IMAGE, busyboxTag = BUSYBOX_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureBusyboxImage(busyboxTag);
  await withTempDir(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    const node = realpathSync(process.execPath);
    copyAt(rootfs, node);
    for (const lib of await sharedLibraries(node)) copyAt(rootfs, lib);
    const nodeAt = node === '/usr/bin/node' || node === '/usr/local/bin/node' ? [] : [`RUN ["ln", "-s", "${node}", "/usr/local/bin/node"]`];
    writeFileSync(join(dir, 'Dockerfile'), [
      `FROM ${busyboxTag}`,
      'COPY rootfs/ /',
      'RUN ["mkdir", "-p", "/usr/local/bin"]',
      ...nodeAt,
      '',
    ].join('\n'));
    await buildImage(dir, tag);
  });
  const check = await docker(['run', '--rm', '--label', 'hiy.test=1', tag, 'node', '-e', 'console.log(1)']);
  if (check.code !== 0 || check.stdout.trim() !== '1') {
    await docker(['rmi', '-f', tag]);
    throw new Error(`${tag} does not run node: ${check.stderr || check.stdout}`);
  }
  return tag;
}
