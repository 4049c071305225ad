/**
 * The files a guest gets on its own overlay before its first boot: what an operator would have
 * set up before installing hiy (network, Node 20+, access to the package registries through
 * the host), and the unit that makes the cgroup v1 controllers writable for Docker.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';

export const PROXY_PORT = 3128;
/** better-sqlite3's prebuilt binary inside the guest (see preparePrebuild). */
export const PREBUILDS_IN_GUEST = '/var/cache/hiy-prebuilds';

export interface GuestIdentity {
  name: string;
  /** The host's end of the veth: the proxy listens there. */
  hostAddress: string;
  guestAddress: string;
}

/** Writes files into the guest's root (its parent folders made as needed). */
class RootWriter {
  constructor(readonly root: string) {}

  put(path: string, content: string, mode = 0o644): void {
    const p = join(this.root, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    chmodSync(p, mode);
  }

  link(target: string, path: string): void {
    const p = join(this.root, path);
    mkdirSync(dirname(p), { recursive: true });
    rmSync(p, { force: true });
    symlinkSync(target, p);
  }
}

/** What an operator would have set up before installing hiy: network, Node 20+, registry access. */
export async function prepareGuestFiles(root: string, g: GuestIdentity): Promise<void> {
  const w = new RootWriter(root);
  network(w, g);
  cgroupsWritable(w);
  registryAccess(w, g);
  nodeFromNodeSource(w);
  await preparePrebuild(root);
}

function network(w: RootWriter, g: GuestIdentity): void {
  w.put('/etc/hostname', `${g.name}\n`);
  w.put('/etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${g.name}\n::1 localhost ip6-localhost ip6-loopback\n`);
  // No DNS server is reachable: the proxy resolves names. Without a nameserver line lookups fail at once.
  w.put('/etc/resolv.conf', '# tests/system: no DNS inside; apt and npm go through the host proxy\n');
  w.put('/etc/systemd/network/80-container-host0.network',
    `[Match]\nVirtualization=container\nName=host0\n\n[Network]\nAddress=${g.guestAddress}/30\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`);
  w.link('/lib/systemd/system/systemd-networkd.service', '/etc/systemd/system/multi-user.target.wants/systemd-networkd.service');
}

/** nspawn mounts the cgroup v1 controllers read-only; Docker's memory/pids/cpu limits need them writable. */
function cgroupsWritable(w: RootWriter): void {
  w.put('/usr/local/sbin/hiy-test-cgroup-rw', [
    '#!/bin/sh',
    'for d in /sys/fs/cgroup/*/; do',
    '  [ "$(stat -fc %T "$d")" = cgroupfs ] && mount -o remount,bind,rw "$d"',
    'done',
    'exit 0',
    '',
  ].join('\n'), 0o755);
  w.put('/etc/systemd/system/hiy-test-cgroup-rw.service', [
    '[Unit]', 'Description=tests/system: cgroup v1 controllers writable for Docker', 'DefaultDependencies=no',
    'Before=sysinit.target docker.service containerd.service', '',
    '[Service]', 'Type=oneshot', 'RemainAfterExit=yes', 'ExecStart=/usr/local/sbin/hiy-test-cgroup-rw', '',
    '[Install]', 'WantedBy=sysinit.target', '',
  ].join('\n'));
  w.link('/etc/systemd/system/hiy-test-cgroup-rw.service', '/etc/systemd/system/sysinit.target.wants/hiy-test-cgroup-rw.service');
}

/** apt through the host's proxy, and the host's CAs (a TLS-intercepting egress proxy here). */
function registryAccess(w: RootWriter, g: GuestIdentity): void {
  // A stock Debian 12's sources (debootstrap only writes the release itself).
  w.put('/etc/apt/sources.list', [
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main', '',
  ].join('\n'));
  const proxy = `http://${g.hostAddress}:${PROXY_PORT}`;
  w.put('/etc/apt/apt.conf.d/80hiy-test-proxy', `Acquire::http::Proxy "${proxy}";\nAcquire::https::Proxy "${proxy}";\n`);
  // Where an operator puts them, and appended to the bundle as `update-ca-certificates` would
  // (which keeps them there on every later run).
  const localCas = '/usr/local/share/ca-certificates';
  const bundle = join(w.root, 'etc/ssl/certs/ca-certificates.crt');
  for (const f of existsSync(localCas) ? readdirSync(localCas).filter((n) => n.endsWith('.crt')).sort() : []) {
    copyFileSync(join(localCas, f), join(w.root, localCas, f));
    writeFileSync(bundle, `${readFileSync(bundle, 'utf8').replace(/\n?$/, '\n')}${readFileSync(join(localCas, f), 'utf8')}`);
  }
}

/**
 * Node 20+: Debian 12 has 18. An operator installs NodeSource's nodejs, which puts node and npm
 * exactly here; the host's own node (Debian 12, same libc) is that binary.
 */
function nodeFromNodeSource(w: RootWriter): void {
  copyFileSync(realpathSync(process.execPath), join(w.root, 'usr/bin/node'));
  chmodSync(join(w.root, 'usr/bin/node'), 0o755);
  const npmRoot = '/usr/lib/node_modules/npm';
  cpSync(realpathSync(npmRoot), join(w.root, npmRoot), { recursive: true });
  w.link('../lib/node_modules/npm/bin/npm-cli.js', '/usr/bin/npm');
  w.link('../lib/node_modules/npm/bin/npx-cli.js', '/usr/bin/npx');
}

/**
 * better-sqlite3 installs a prebuilt binary downloaded from GitHub (what a Pi does); GitHub is
 * not reachable here, so prebuild-install finds the same file locally instead: this checkout's
 * own build of it (same Node ABI, same Debian libc). Without it npm would compile SQLite, which
 * needs a compiler --production does not install.
 */
async function preparePrebuild(root: string): Promise<void> {
  const pkgDir = join(repoRoot(), 'node_modules', 'better-sqlite3');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const out = join(root, PREBUILDS_IN_GUEST);
  mkdirSync(out, { recursive: true });
  const file = join(out, `better-sqlite3-v${version}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`);
  const r = await run('tar', ['-czf', file, '-C', pkgDir, 'build/Release/better_sqlite3.node']);
  if (r.code !== 0) throw new Error(`packing better-sqlite3's binary failed: ${r.stderr}`);
}
