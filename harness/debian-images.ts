/**
 * Real Debian images for tests, made here without a registry (DESIGN.md facts):
 *
 *   await ensureDebianImage();      // hiy-test/debian:bookworm — debootstrap --variant=minbase, docker import
 *   await ensurePostgresImage();    // postgres:17-bookworm — Debian's PostgreSQL behind the official image's contract
 *   await ensureRedisImage();       // redis:7-bookworm — Debian's redis-server behind the official image's contract
 *   await ensureDebianNodeImage();  // hiy-test/node-debian:20 — Debian + the host's node and npm + the host's CA bundle
 *
 * The add-on images carry the default names of HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS, so hiy runs
 * them exactly as it would run the official images. The debootstrapped root is kept as a tarball
 * under /var/cache/hiy-test (about a minute to make), the images by tag; all are labelled
 * `hiy.test.base=1` and survive per-test cleanup.
 */
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { docker } from './docker.js';
import { repoRoot } from './paths.js';

export const DEBIAN_IMAGE = 'hiy-test/debian:bookworm';
export const POSTGRES_IMAGE = 'postgres:17-bookworm';
export const REDIS_IMAGE = 'redis:7-bookworm';
export const DEBIAN_NODE_IMAGE = 'hiy-test/node-debian:20';
const BASE_LABEL = 'hiy.test.base=1';
const CACHE_DIR = '/var/cache/hiy-test';
const ROOT_TARBALL = join(CACHE_DIR, 'debian-bookworm-minbase.tar');

async function imageExists(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', '--format', '{{.Id}}', tag])).code === 0;
}

function execText(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${String(stderr).slice(-2000)}`)) : resolve(String(stdout))));
  });
}

/** debootstrap once per machine into a tarball; a half-written tarball never takes its name. */
async function ensureRootTarball(): Promise<void> {
  if (existsSync(ROOT_TARBALL)) return;
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(CACHE_DIR, 'minbase-'));
  try {
    const root = join(work, 'root');
    await execText('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'], 900_000);
    await execText('tar', ['-C', root, '-cf', join(work, 'root.tar'), '.']);
    renameSync(join(work, 'root.tar'), ROOT_TARBALL);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `docker import` of the cached root, with a shell as its command. */
export async function ensureDebianImage(tag = DEBIAN_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureRootTarball();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('docker', ['import', '--change', `LABEL ${BASE_LABEL}`, '--change', 'CMD ["bash"]', '-', tag], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker import of ${ROOT_TARBALL} failed: ${err}`))));
    createReadStream(ROOT_TARBALL).on('error', reject).pipe(p.stdin);
  });
  return tag;
}

async function buildFrom(dir: string, tag: string): Promise<void> {
  const r = await docker(['build', '--quiet', '--label', BASE_LABEL, '--build-arg', `BASE=${DEBIAN_IMAGE}`, '--tag', tag, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`building ${tag} failed: ${r.stderr || r.stdout}`);
}

/** Builds tests/fixtures/images/<name> on the Debian image, checked with `check` before it is kept. */
async function ensureFixtureImage(name: string, tag: string, check: string[], expect: RegExp): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureDebianImage();
  await buildFrom(join(repoRoot(), 'tests', 'fixtures', 'images', name), tag);
  const r = await docker(['run', '--rm', '--label', 'hiy.test=1', '--entrypoint', check[0]!, tag, ...check.slice(1)]);
  if (r.code !== 0 || !expect.test(r.stdout)) {
    await docker(['rmi', '-f', tag]);
    throw new Error(`${tag} fails its check (${check.join(' ')}): ${r.stderr || r.stdout}`);
  }
  return tag;
}

export function ensurePostgresImage(tag = POSTGRES_IMAGE): Promise<string> {
  return ensureFixtureImage('postgres', tag, ['postgres', '--version'], /PostgreSQL/);
}

export function ensureRedisImage(tag = REDIS_IMAGE): Promise<string> {
  return ensureFixtureImage('redis', tag, ['redis-server', '--version'], /Redis server/);
}

/**
 * Debian with the host's node and npm, trusting the host's CA bundle: `npm ci` from the registry
 * works inside builds (without the bundle TLS fails with SELF_SIGNED_CERT_IN_CHAIN here).
 */
export async function ensureDebianNodeImage(tag = DEBIAN_NODE_IMAGE): Promise<string> {
  if (await imageExists(tag)) return tag;
  await ensureDebianImage();
  const node = realpathSync(process.execPath);
  const npmRoot = dirname(dirname(realpathSync((await execText('sh', ['-c', 'command -v npm'])).trim())));
  const dir = mkdtempSync(join(tmpdir(), 'hiy-img-'));
  try {
    copyFileSync(node, join(dir, 'node'));
    cpSync(npmRoot, join(dir, 'npm'), { recursive: true, dereference: true });
    copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(dir, 'ca-certificates.crt'));
    writeFileSync(join(dir, 'Dockerfile'), [
      `FROM ${DEBIAN_IMAGE}`,
      'COPY node /usr/local/bin/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      '',
    ].join('\n'));
    const r = await docker(['build', '--quiet', '--label', BASE_LABEL, '--tag', tag, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`building ${tag} failed: ${r.stderr || r.stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const check = await docker(['run', '--rm', '--label', 'hiy.test=1', tag, 'npm', '--version']);
  if (check.code !== 0 || !/^\d+\.\d+/.test(check.stdout.trim())) {
    await docker(['rmi', '-f', tag]);
    throw new Error(`${tag} does not run npm: ${check.stderr || check.stdout}`);
  }
  return tag;
}
