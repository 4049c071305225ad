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
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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

export const NODE_NPM_IMAGE = 'hiy-test/node-npm:20';
export const PYTHON_IMAGE = 'hiy-test/python:3';

/** Copies a folder tree into `root` at the same absolute path (files only follow their content). */
function copyTreeAt(root: string, src: string, skip: (rel: string) => boolean = () => false): void {
  cpSync(src, join(root, src), { recursive: true, dereference: true, filter: (p) => !skip(p.slice(src.length)) });
}

/**
 * hiy-test/node:20 plus the host's npm (pure JavaScript): what hiy's generated Node.js Dockerfile
 * needs (`npm ci`, `npm start`). A wrapper script, since busybox has no /usr/bin/env for npm's shebang.
 */
export async function ensureNodeNpmImage(tag = NODE_NPM_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureNodeImage();
  const npmRoot = dirname(dirname(realpathSync(await execText('sh', ['-c', 'command -v npm']).then((s) => s.trim()))));
  await withTempDir(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    copyTreeAt(rootfs, npmRoot);
    mkdirSync(join(rootfs, 'usr', 'local', 'bin'), { recursive: true });
    for (const [name, cli] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']] as const) {
      writeFileSync(join(rootfs, 'usr', 'local', 'bin', name), `#!/bin/sh\nexec node ${npmRoot}/bin/${cli} "$@"\n`, { mode: 0o755 });
    }
    writeFileSync(join(dir, 'Dockerfile'), [`FROM ${NODE_IMAGE}`, 'COPY rootfs/ /', ''].join('\n'));
    await buildImage(dir, tag);
  });
  const check = await docker(['run', '--rm', '--label', 'hiy.test=1', tag, 'npm', '--version']);
  if (check.code !== 0 || !/^\d+\.\d+/.test(check.stdout.trim())) {
    await docker(['rmi', '-f', tag]);
    throw new Error(`${tag} does not run npm: ${check.stderr || check.stdout}`);
  }
  return tag;
}

/**
 * A Python 3 runtime from the host's Debian python3 (/usr/bin/python3.X and /usr/lib/python3.X,
 * without its tests) plus the libraries ldd lists for it and its extension modules, on busybox.
 * No pip: test fixtures use the standard library only.
 */
export async function ensurePythonImage(tag = PYTHON_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureBusyboxImage();
  const python = realpathSync('/usr/bin/python3');
  const version = /python(3\.\d+)$/.exec(python)?.[1];
  if (!version) throw new Error(`unexpected python at ${python}`);
  const lib = `/usr/lib/python${version}`;
  await withTempDir(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    copyAt(rootfs, python);
    copyTreeAt(rootfs, lib, (rel) => /^\/(test|idlelib|tkinter|ensurepip|lib2to3)(\/|$)|__pycache__/.test(rel));
    const libs = new Set(await sharedLibraries(python));
    const dynload = join(lib, 'lib-dynload');
    for (const so of readdirSync(dynload).filter((f) => f.endsWith('.so'))) {
      for (const l of await sharedLibraries(join(dynload, so)).catch(() => [])) libs.add(l);
    }
    for (const l of libs) copyAt(rootfs, l);
    writeFileSync(join(dir, 'Dockerfile'), [
      `FROM ${BUSYBOX_IMAGE}`,
      'COPY rootfs/ /',
      `RUN ["ln", "-s", "${python}", "/usr/bin/python3"]`,
      `RUN ["ln", "-s", "${python}", "/usr/bin/python"]`,
      '',
    ].join('\n'));
    await buildImage(dir, tag);
  });
  const check = await docker(['run', '--rm', '--label', 'hiy.test=1', tag, 'python3', '-c', 'import http.server, json; print(1)']);
  if (check.code !== 0 || check.stdout.trim() !== '1') {
    await docker(['rmi', '-f', tag]);
    throw new Error(`${tag} does not run python3: ${check.stderr || check.stdout}`);
  }
  return tag;
}
