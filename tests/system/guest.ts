/**
 * One booted Debian 12 with systemd as PID 1 (`systemd-nspawn -b`), for tests/system.
 *
 *   const g = await Guest.create(root, { origin });  // own name, address range, overlay, cgroups
 *   await g.boot();                                   // systemd running, its veth addressed
 *   await g.exec('systemctl', ['is-active', 'hiy']); // nsenter into all its namespaces
 *   await g.poweroff(); await g.boot();               // a reboot: same disk, fresh processes
 *   await g.destroy();                                // by pid and by name, also after a failure
 *
 * The guest's disk is an overlay on the cached debootstrap root (never written), plus a plain
 * directory for /var/lib/docker (Docker's overlay2 cannot sit on an overlay). Its only network is
 * a veth pair to the host; it reaches Debian's and npm's registries through a forwarding proxy
 * (the `proxy` package) listening on the host's end of that veth: no NAT, the host's iptables
 * are never touched. No machined runs on these hosts, so commands go in with `nsenter -a`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProxy } from 'proxy';
import { run, type RunResult } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { guestCgroups, makeCgroups, removeCgroups } from './cgroups.js';
import { PREBUILDS_IN_GUEST, prepareGuestFiles, PROXY_PORT } from './guest-files.js';
import { removeInstance, writeRecord, type InstanceRecord } from './instance.js';

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the host's repository snapshot appears inside (read-only): what the guest clones from. */
export const ORIGIN_IN_GUEST = '/srv/hiy-origin';

export interface GuestOptions {
  /** A directory bind-mounted read-only at ORIGIN_IN_GUEST. */
  origin: string;
  /** Parent of the instance directory. Default /var/tmp. */
  workDir?: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Piped to the command's stdin. */
  input?: NodeJS.ReadableStream;
}

/** An unused /30 in 10.224.0.0/12: .1 is the host's end of the veth, .2 the guest. */
async function pickSubnet(): Promise<{ host: string; guest: string }> {
  const routes = (await run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout + (await run('ip', ['-4', '-o', 'addr'])).stdout;
  for (let i = 0; i < 50; i++) {
    const b = `10.${224 + randomInt(16)}.${randomInt(256)}`;
    if (routes.includes(`${b}.`)) continue; // anything in that /24 already: pick another
    const base = randomInt(64) * 4;
    return { host: `${b}.${base + 1}`, guest: `${b}.${base + 2}` };
  }
  throw new Error('no free address range for a guest in 10.224.0.0/12');
}

export class Guest {
  readonly name: string;
  readonly dir: string;
  readonly root: string;
  readonly hostAddress: string;
  readonly guestAddress: string;
  private readonly cgroups: string[];
  private nspawn: ChildProcess | undefined;
  private nspawnExit: Promise<void> | undefined;
  private pid1 = 0;
  private proxy: Server | undefined;
  private readonly proxySockets = new Set<Socket>();
  private readonly running = new Set<ChildProcess>();

  private constructor(name: string, dir: string, addrs: { host: string; guest: string }, private readonly lower: string, private readonly opts: GuestOptions) {
    this.name = name;
    this.dir = dir;
    this.root = join(dir, 'root');
    this.hostAddress = addrs.host;
    this.guestAddress = addrs.guest;
    this.cgroups = guestCgroups(name);
  }

  /** A new instance on top of `lowerRoot` (never written), ready for its first boot. */
  static async create(lowerRoot: string, opts: GuestOptions): Promise<Guest> {
    // Short: the host's end of the veth is "ve-<name>", and interface names stop at 15 characters.
    const name = `hiys${randomBytes(3).toString('hex')}`;
    const g = new Guest(name, join(opts.workDir ?? '/var/tmp', `hiy-system-${name}`), await pickSubnet(), lowerRoot, opts);
    try {
      for (const d of ['upper', 'work', 'root', 'docker']) mkdirSync(join(g.dir, d), { recursive: true });
      writeRecord(g.dir, g.record());
      const mount = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerRoot},upperdir=${join(g.dir, 'upper')},workdir=${join(g.dir, 'work')}`, g.root]);
      if (mount.code !== 0) throw new Error(`mounting the guest's overlay failed: ${mount.stderr}`);
      await prepareGuestFiles(g.root, g);
    } catch (err) {
      await g.destroy();
      throw err;
    }
    return g;
  }


  private record(): InstanceRecord {
    return { name: this.name, owner: process.pid, nspawn: this.nspawn?.pid, cgroups: this.cgroups };
  }

  /** The environment install.sh runs with: registry access through the host, its CAs for Node. */
  installEnv(): Record<string, string> {
    const proxy = `http://${this.hostAddress}:${PROXY_PORT}`;
    return {
      // As `sudo infra/install.sh` by the operator (pi, uid 1000) sets them: install.sh accepts
      // a checkout owned by root or by the administrator running it (docs/setup.md, step 5).
      SUDO_USER: 'pi', SUDO_UID: '1000',
      http_proxy: proxy, https_proxy: proxy,
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
      npm_config_better_sqlite3_local_prebuilds: PREBUILDS_IN_GUEST,
    };
  }

  get booted(): boolean {
    return this.pid1 !== 0;
  }

  /** Boots the guest and waits until systemd says the boot is over; returns the state it reports. */
  async boot(timeoutMs = 120_000): Promise<string> {
    if (this.nspawn) throw new Error(`${this.name} is already running`);
    makeCgroups(this.cgroups);
    const log = openSync(join(this.dir, 'console.log'), 'a');
    const args = [
      ...this.cgroups, '--',
      '-b', '-D', this.root, '-M', this.name, '--network-veth', '--register=no', '--keep-unit',
      '--capability=all', '--system-call-filter=add_key keyctl bpf', '--console=read-only',
      '--resolv-conf=off', '--timezone=off', '--link-journal=no',
      `--bind=${join(this.dir, 'docker')}:/var/lib/docker`, `--bind-ro=${this.opts.origin}:${ORIGIN_IN_GUEST}`,
    ];
    const child = spawn('bash', [join(repoRoot(), 'tests', 'system', 'boot-guest.sh'), ...args], { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.nspawn = child;
    writeRecord(this.dir, this.record());
    this.nspawnExit = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    this.pid1 = await this.waitPid1(child, deadline);
    await this.upHostEnd(deadline);
    await this.startProxy();
    // Right after the start systemd may not take connections yet: systemctl then says nothing.
    for (;;) {
      const r = await this.exec('systemctl', ['is-system-running', '--wait'], { timeoutMs: Math.max(1_000, deadline - Date.now()) });
      const state = r.stdout.trim();
      if (state !== '' && state !== 'offline') return state;
      if (Date.now() > deadline) throw new Error(`${this.name}: systemd did not answer: ${r.stderr}\n${this.consoleTail()}`);
      await sleep(100);
    }
  }

  private async waitPid1(child: ChildProcess, deadline: number): Promise<number> {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        for (const t of readdirSync(`/proc/${child.pid}/task`)) {
          for (const pid of readFileSync(`/proc/${child.pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number)) {
            if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd') return pid;
          }
        }
      } catch { /* not there yet */ }
      await sleep(50);
    }
    throw new Error(`${this.name}: systemd-nspawn did not start the guest's systemd; console:\n${this.consoleTail()}`);
  }

  private async upHostEnd(deadline: number): Promise<void> {
    const dev = `ve-${this.name}`;
    while ((await run('ip', ['link', 'show', dev])).code !== 0) {
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${dev} on the host`);
      await sleep(50);
    }
    for (const args of [['addr', 'replace', `${this.hostAddress}/30`, 'dev', dev], ['link', 'set', dev, 'up']]) {
      const r = await run('ip', args);
      if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
  }

  private async startProxy(): Promise<void> {
    const server = createProxy(createServer());
    // The proxy adds a listener per request to a kept-alive socket; npm sends hundreds over a few.
    // Tunnels (CONNECT) leave the server's bookkeeping: stopProxy ends every socket itself, or the
    // registry's keep-alive would hold the test process open for a minute.
    server.on('connection', (socket: Socket) => {
      socket.setMaxListeners(0);
      this.proxySockets.add(socket);
      socket.once('close', () => this.proxySockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(PROXY_PORT, this.hostAddress, () => resolve());
    });
    this.proxy = server;
  }

  private async stopProxy(): Promise<void> {
    const p = this.proxy;
    this.proxy = undefined;
    if (!p) return;
    p.closeAllConnections();
    for (const s of this.proxySockets) s.destroy();
    await new Promise<void>((resolve) => p.close(() => resolve()));
  }

  consoleTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'console.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no console log)';
    }
  }

  /** Runs a command inside every namespace of the guest, with a clean environment; never throws. */
  exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<RunResult> {
    if (!this.pid1) return Promise.resolve({ code: 255, stdout: '', stderr: `${this.name} is not booted` });
    const env = { PATH: GUEST_PATH, HOME: '/root', LANG: 'C.UTF-8', ...opts.env };
    const child = spawn('nsenter', ['-t', String(this.pid1), '-a', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args],
      { stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.running.add(child);
    if (opts.input && child.stdin) opts.input.pipe(child.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    return new Promise((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.running.delete(child);
        resolve({ code: code ?? 128, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr });
      });
    });
  }

  /** exec that throws unless the command exits 0; returns its stdout. */
  async sh(cmd: string, args: string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${this.name} exited ${r.code}:\n${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** `systemctl poweroff` inside, then waits for systemd-nspawn to exit (the disk stays). */
  async poweroff(timeoutMs = 90_000): Promise<void> {
    if (!this.nspawn) return;
    await this.exec('systemctl', ['poweroff'], { timeoutMs: 10_000 });
    await this.waitExit(timeoutMs);
  }

  private async waitExit(timeoutMs: number): Promise<void> {
    const child = this.nspawn;
    if (!child) return;
    // The timer is cancelled once nspawn exits: a pending one would hold the test process open.
    const timer = new AbortController();
    const exited = await Promise.race([
      this.nspawnExit!.then(() => true),
      sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!exited) {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      await this.nspawnExit;
    }
    this.nspawn = undefined;
    this.pid1 = 0;
    await this.stopProxy();
    await removeCgroups(this.cgroups);
  }

  /** Stops everything the guest runs (by pid, then by its cgroups) and removes its disk and veth. */
  async destroy(): Promise<void> {
    for (const c of this.running) c.kill('SIGKILL');
    if (this.nspawn?.pid) {
      // SIGTERM asks nspawn for an orderly shutdown of the guest; SIGKILL after 20 s.
      try { process.kill(this.nspawn.pid, 'SIGTERM'); } catch { /* gone */ }
      await this.waitExit(20_000);
    }
    await this.stopProxy();
    await removeCgroups(this.cgroups);
    await removeInstance(this.dir, this.name);
  }
}
