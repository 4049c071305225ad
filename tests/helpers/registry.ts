/**
 * A real container registry for tests: Debian's `docker-registry` (distribution 2.8) with htpasswd
 * auth and TLS from a CA made here, reachable by the shared engine without restarting it.
 *
 * The engine treats every registry in 127.0.0.0/8 as insecure (it skips certificate checks and
 * falls back to plain HTTP), which would prove nothing about TLS or the CA. So the registry
 * listens inside a network namespace of the test's own, on the far end of a veth pair
 * (10.192.0.0/12, a /30 nobody uses); the engine reaches it at `<address>:5443` and trusts the
 * test's CA through /etc/docker/certs.d/<address>:5443/ca.crt, which it reads per pull. A
 * throttling TCP proxy on the host's end of the veth (`slowHost`) serves the same registry slowly,
 * so a pull can be kept running while a test queues more deploys.
 *
 * Everything is removed by stop() (the registry by pid, the namespace with its veth, the certs.d
 * folders, the temp dir with the docker CLI login); a run killed before stop() is cleaned up by
 * the next start (namespaces and certs.d folders carry the owner's pid).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { docker } from '../../harness/docker.js';
import { freePort } from '../../harness/ports.js';

const CERTS_D = '/etc/docker/certs.d';
const OWNER_FILE = 'hiy-test-owner';
const PORT = 5443;

interface Result { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], input?: string, env?: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function must(cmd: string, args: string[], input?: string, env?: Record<string, string>): Promise<string> {
  const r = await run(cmd, args, input, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Namespaces and certs.d folders left by test runs that died before their stop(). */
async function removeLeftovers(): Promise<void> {
  for (const line of (await run('ip', ['netns', 'list'])).stdout.split('\n')) {
    const m = /^(hiyreg-(\d+)-[0-9a-f]+)/.exec(line.trim());
    if (!m || alive(Number(m[2]))) continue;
    for (const pid of (await run('ip', ['netns', 'pids', m[1]!])).stdout.split('\n').filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
    await run('ip', ['netns', 'delete', m[1]!]);
  }
  if (!existsSync(CERTS_D)) return;
  for (const name of readdirSync(CERTS_D)) {
    const owner = join(CERTS_D, name, OWNER_FILE);
    if (!existsSync(owner)) continue;
    if (!alive(Number(readFileSync(owner, 'utf8').trim()))) rmSync(join(CERTS_D, name), { recursive: true, force: true });
  }
}

/** An unused /30 in 10.192.0.0/12: .1 is the host's end of the veth, .2 the registry's. */
async function pickSubnet(): Promise<{ host: string; guest: string }> {
  const taken = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout + (await run('ip', ['-4', '-o', 'addr'])).stdout;
  for (let i = 0; i < 50; i++) {
    const b = `10.${192 + randomInt(16)}.${randomInt(256)}`;
    if (taken.includes(`${b}.`)) continue;
    const base = randomInt(64) * 4;
    return { host: `${b}.${base + 1}`, guest: `${b}.${base + 2}` };
  }
  throw new Error('no free address range for a test registry in 10.192.0.0/12');
}

/** Passes bytes on at most `rate()` bytes per second (undefined: at once). */
function throttle(rate: () => number | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      const r = rate();
      if (!r) return cb(null, chunk);
      const slices: Buffer[] = [];
      for (let i = 0; i < chunk.length; i += 16 * 1024) slices.push(chunk.subarray(i, i + 16 * 1024));
      const next = () => {
        const s = slices.shift();
        if (!s) return cb();
        this.push(s);
        setTimeout(next, (s.length / r) * 1000);
      };
      next();
    },
  });
}

export interface TestRegistry {
  /** `<address>:5443`: how images in this registry are named. */
  host: string;
  /** The same registry through the throttling proxy (`<host address>:<port>`). */
  slowHost: string;
  username: string;
  password: string;
  /** Bytes per second the slow host passes towards the engine (default 2 MB/s); undefined: no limit. */
  setRate(bytesPerSecond: number | undefined): void;
  /** Pushes a local image as `<host>/<name>` and removes that local name; returns the digest. */
  push(localImage: string, name: string): Promise<string>;
  /** Builds a context folder's Dockerfile straight into `<host>/<name>` (pushed, local copy removed); returns the digest. */
  buildAndPush(dir: string, name: string, opts?: { platform?: string }): Promise<string>;
  /** Takes the test CA out of (or puts it back into) the engine's trust for `host`. */
  trustCa(trusted: boolean): void;
  /** The registry's output (its request log). */
  output(): string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  await removeLeftovers();
  const id = randomBytes(3).toString('hex');
  const ns = `hiyreg-${process.pid}-${id}`;
  const vethHost = `hr${id}h`;
  const vethGuest = `hr${id}g`;
  const dir = mkdtempSync(join(tmpdir(), 'hiy-registry-'));
  const dockerConfig = join(dir, 'docker-cli');
  const username = 'hiy-tester';
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  const addrs = await pickSubnet();
  const host = `${addrs.guest}:${PORT}`;
  const slowPort = await freePort();
  const slowHost = `${addrs.host}:${slowPort}`;
  const certDirs = [join(CERTS_D, host), join(CERTS_D, slowHost)];
  let child: ChildProcess | undefined;
  let proxy: Server | undefined;
  const sockets = new Set<Socket>();
  let out = '';
  let rate: number | undefined = 2 * 1024 * 1024;

  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    await run('ip', ['netns', 'delete', ns]);
    await run('ip', ['link', 'delete', vethHost]);
    for (const d of certDirs) rmSync(d, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await must('ip', ['netns', 'add', ns]);
    await must('ip', ['link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethGuest]);
    await must('ip', ['link', 'set', vethGuest, 'netns', ns]);
    await must('ip', ['addr', 'add', `${addrs.host}/30`, 'dev', vethHost]);
    await must('ip', ['link', 'set', vethHost, 'up']);
    const inNs = (args: string[]) => must('nsenter', [`--net=/run/netns/${ns}`, ...args]);
    await inNs(['ip', 'addr', 'add', `${addrs.guest}/30`, 'dev', vethGuest]);
    await inNs(['ip', 'link', 'set', vethGuest, 'up']);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);

    // A CA of the test's own, and the registry's certificate for both addresses it is reached at.
    const f = (n: string) => join(dir, n);
    await must('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=hiy test registry CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
    await must('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${addrs.guest}`, '-keyout', f('registry.key'), '-out', f('registry.csr')]);
    writeFileSync(f('san.cnf'), `subjectAltName=IP:${addrs.guest},IP:${addrs.host}\n`);
    await must('openssl', ['x509', '-req', '-in', f('registry.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('san.cnf'), '-out', f('registry.crt')]);
    writeFileSync(f('htpasswd'), await must('htpasswd', ['-niB', username], password));
    mkdirSync(f('data'));
    writeFileSync(f('config.yml'), [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${f('data')}`,
      'http:',
      `  addr: ${host}`,
      '  tls:',
      `    certificate: ${f('registry.crt')}`,
      `    key: ${f('registry.key')}`,
      'auth:',
      '  htpasswd:',
      '    realm: hiy-test',
      `    path: ${f('htpasswd')}`,
      '',
    ].join('\n'));
    for (const d of certDirs) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'ca.crt'), readFileSync(f('ca.crt')));
      writeFileSync(join(d, OWNER_FILE), `${process.pid}\n`);
    }

    child = spawn('nsenter', [`--net=/run/netns/${ns}`, 'docker-registry', 'serve', f('config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes(`listening on ${host}`)) resolve();
      };
      child!.stdout?.on('data', onData);
      child!.stderr?.on('data', onData);
      child!.once('exit', () => reject(new Error(`docker-registry exited during start:\n${out}`)));
      setTimeout(() => reject(new Error(`docker-registry did not start within 15 s:\n${out}`)), 15_000).unref();
    });

    proxy = createServer((client) => {
      const upstream = connect(PORT, addrs.guest);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream);
      upstream.pipe(throttle(() => rate)).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      proxy!.once('error', reject);
      proxy!.listen(slowPort, addrs.host, () => resolve());
    });

    mkdirSync(dockerConfig);
    await must('docker', ['login', '--username', username, '--password-stdin', host], password, { DOCKER_CONFIG: dockerConfig });
  } catch (err) {
    await stop();
    throw err;
  }

  const cli = (args: string[], env: Record<string, string> = {}) => docker(args, { env: { DOCKER_CONFIG: dockerConfig, ...env }, timeoutMs: 300_000 });
  async function push(localImage: string, name: string): Promise<string> {
    const ref = `${host}/${name}`;
    const tagged = await cli(['tag', localImage, ref]);
    if (tagged.code !== 0) throw new Error(`docker tag failed: ${tagged.stderr}`);
    try {
      const r = await cli(['push', ref]);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1];
      if (r.code !== 0 || !digest) throw new Error(`docker push ${ref} failed: ${r.stderr || r.stdout}`);
      return digest;
    } finally {
      await cli(['rmi', ref]);
    }
  }

  return {
    host,
    slowHost,
    username,
    password,
    setRate: (r) => { rate = r; },
    push,
    async buildAndPush(ctx, name, opts = {}) {
      const local = `hiy-test-registry/${id}-${name.replace(/[/:]/g, '-')}`;
      const built = await cli(['build', '--quiet', '--label', 'hiy.test=1', ...(opts.platform ? ['--platform', opts.platform] : []), '--tag', local, ctx], { DOCKER_BUILDKIT: '0' });
      if (built.code !== 0) throw new Error(`docker build of ${name} failed: ${built.stderr || built.stdout}`);
      try {
        return await push(local, name);
      } finally {
        await cli(['rmi', local]);
      }
    },
    trustCa(trusted) {
      const file = join(certDirs[0]!, 'ca.crt');
      if (trusted) writeFileSync(file, readFileSync(join(dir, 'ca.crt')));
      else rmSync(file, { force: true });
    },
    output: () => out,
    stop,
  };
}
