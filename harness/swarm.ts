/**
 * A real N-node Docker Swarm on this one machine (DESIGN.md facts; issue #23):
 *
 *   const swarm = await startSwarm({ nodes: 2 });   // node1 manager, the others workers, all Ready
 *   after(() => swarm.teardown());
 *   swarm.nodes[0].dockerHost                      // unix:///run/hiysw-<id>/n1.sock: point hiy here
 *   await swarm.docker(1, ['node', 'ls']);         // docker CLI against node 2
 *   await swarm.loadImages([BUSYBOX_IMAGE]);       // docker save (host engine) | docker load (nodes)
 *   http://<swarm.nodes[i].address>:<port>/        // a host-mode published port, reachable from here
 *   await swarm.killDockerd(1);                    // kill -9 of node 2's dockerd (its containers live on)
 *   await swarm.killNode(1);                       // node 2 dies whole: daemons, containers, its link
 *
 * Each node is an extra dockerd in its own network namespace (`hiysw-<id>-n<i>`), started through
 * nsenter (not `ip netns exec`, which remounts /sys and hides the cgroups), in a private mount and
 * UTS namespace: its own hostname (so `docker node ls` tells nodes apart) and its own /etc/docker
 * (a folder of the run bind-mounted there), so a test can make a node trust a registry's CA in
 * `/etc/docker/certs.d/<host:port>/ca.crt` without writing to the host's /etc. The nodes are linked
 * by a bridge in a third namespace (`hiysw-<id>-br`; the host's bridges do not forward between
 * namespaces here), and a veth from the host into that bridge gives the host an address on the
 * nodes' subnet, so a Caddy or a test on the host reaches host-mode ports on every node. Nothing
 * is said to the host's own dockerd except `docker save`, and no host firewall rule is added.
 *
 * Every name carries `hiysw-<id>` (id: 4 hex digits that also pick the subnet 100.64-127.x.0/24),
 * so two runs never collide; teardown removes everything by pid, cgroup, namespace and folder, and
 * startSwarm first sweeps what runs whose owner process is gone left behind.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, type DockerResult } from './docker.js';
import { dataDir, killProcesses, PREFIX, removeRun, run, startTime, stateDir, sweepStaleRuns } from './swarm-cleanup.js';

export interface SwarmNode {
  /** n1, n2, … (n1 is the manager). */
  name: string;
  /** The node's hostname, which is also its Swarm node name: hiysw-<id>-n<i>. */
  hostname: string;
  /** Its network namespace (/run/netns/<netns>). */
  netns: string;
  /** unix:///run/hiysw-<id>/n<i>.sock */
  dockerHost: string;
  /** The node's address on the nodes' subnet (what Swarm advertises and host-mode ports listen on). */
  address: string;
  dataRoot: string;
  /** The folder mounted at /etc/docker for this node's dockerd (certs.d lives in it). */
  etcDocker: string;
}

export interface TestSwarm {
  id: string;
  nodes: SwarmNode[];
  /** The host's address on the nodes' subnet (the host end of the veth into their bridge). */
  hostAddress: string;
  /** `docker -H <node i> <args>` (never throws; the exit code is in the result). */
  docker(node: number, args: string[], timeoutMs?: number): Promise<DockerResult>;
  /** Copies images from the host's engine into every node (or the ones named by index). */
  loadImages(tags: string[], nodes?: number[]): Promise<void>;
  /** Makes node(s) trust a registry's CA: writes <etcDocker>/certs.d/<hostPort>/ca.crt. */
  trustRegistry(hostPort: string, caPem: string, nodes?: number[]): void;
  /** kill -9 of node i's dockerd alone (its containerd and containers keep running). */
  killDockerd(node: number): Promise<void>;
  /** Node i dies whole: every process of it SIGKILLed and its link cut, as if the box lost power. */
  killNode(node: number): Promise<void>;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reserves a run id: its state folder is made under a temporary name with the owner file in it,
 * then renamed into place (a rename onto an existing, non-empty folder fails), so a concurrent
 * sweep never sees a run without its owner.
 */
function reserveRun(): string {
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = Math.floor(Math.random() * 0x4000).toString(16).padStart(4, '0');
    const tmp = mkdtempSync('/run/.hiysw-new-');
    writeFileSync(join(tmp, 'owner'), `${process.pid} ${startTime(process.pid)}\n`);
    try {
      renameSync(tmp, stateDir(id));
      return id;
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  throw new Error('no free swarm run id');
}

/** 100.(64+hi).lo.0/24 from the id's 14 bits: distinct ids never share a subnet. */
function subnetOf(id: string): string {
  const n = parseInt(id, 16);
  return `100.${64 + (n >> 8)}.${n & 0xff}`;
}

async function ip(args: string[]): Promise<void> {
  await run('ip', args);
}

/** The bridge namespace, the host's veth into it, and one namespace per node with its veth. */
async function buildNetwork(id: string, count: number): Promise<{ hostAddress: string; nodes: { netns: string; address: string }[] }> {
  const base = `${PREFIX}${id}`;
  const net = subnetOf(id);
  const br = `${base}-br`;
  await ip(['netns', 'add', br]);
  await ip(['-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', br, 'link', 'set', 'br0', 'up']);
  await ip(['-n', br, 'link', 'set', 'lo', 'up']);
  // The host's end keeps its name (hiysw-<id>-h) so a sweep can find it; the peer goes into the bridge.
  await ip(['link', 'add', `${base}-h`, 'type', 'veth', 'peer', 'name', `${base}-hb`]);
  await ip(['link', 'set', `${base}-hb`, 'netns', br]);
  await ip(['-n', br, 'link', 'set', `${base}-hb`, 'master', 'br0', 'up']);
  await ip(['addr', 'add', `${net}.1/24`, 'dev', `${base}-h`]);
  await ip(['link', 'set', `${base}-h`, 'up']);
  const nodes = [];
  for (let i = 1; i <= count; i++) {
    const ns = `${base}-n${i}`;
    await ip(['netns', 'add', ns]);
    await ip(['link', 'add', `${base}-v${i}`, 'type', 'veth', 'peer', 'name', `${base}-b${i}`]);
    await ip(['link', 'set', `${base}-v${i}`, 'netns', ns]);
    await ip(['-n', ns, 'link', 'set', `${base}-v${i}`, 'name', 'eth0']);
    await ip(['-n', ns, 'addr', 'add', `${net}.${10 + i}/24`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['link', 'set', `${base}-b${i}`, 'netns', br]);
    await ip(['-n', br, 'link', 'set', `${base}-b${i}`, 'master', 'br0', 'up']);
    nodes.push({ netns: ns, address: `${net}.${10 + i}` });
  }
  return { hostAddress: `${net}.1`, nodes };
}

/**
 * One node's dockerd: nsenter into its network namespace, then a private mount + UTS namespace
 * where a fixed script (arguments passed as $1…, never spliced into it) sets the hostname and
 * mounts the node's own /etc/docker before exec'ing dockerd, so the spawned pid is dockerd's.
 */
function startDockerd(id: string, name: string, netns: string, etcDocker: string): number {
  const dir = stateDir(id);
  const exec = join(dir, name);
  const config = join(dir, `${name}.json`);
  // live-restore off: Swarm refuses to init or join with it on (DESIGN.md facts).
  writeFileSync(config, JSON.stringify({ 'live-restore': false, 'log-driver': 'json-file' }));
  const log = openSync(join(dir, `${name}.log`), 'a');
  const script = 'hostname "$1" && mount --bind "$2" /etc/docker && shift 2 && exec "$@"';
  const child = spawn('nsenter', [
    `--net=/run/netns/${netns}`, '--',
    'unshare', '--mount', '--uts', '--propagation', 'slave', '--',
    'sh', '-c', script, 'sh', `${PREFIX}${id}-${name}`, etcDocker,
    'dockerd', '--config-file', config,
    '--data-root', join(dataDir(id), name), '--exec-root', exec,
    '--pidfile', join(dir, `${name}.pid`), '-H', `unix://${dir}/${name}.sock`,
    '--cgroup-parent', `${PREFIX}${id}-${name}`,
    // Its own containerd namespaces, in case a system containerd answers on the default socket.
    '--containerd-namespace', `${PREFIX}${id}-${name}`, '--containerd-plugins-namespace', `${PREFIX}${id}-${name}-p`,
  ], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  if (!child.pid) throw new Error(`could not start dockerd for ${name}`);
  return child.pid;
}

function nodeDocker(socket: string, args: string[], timeoutMs = 120_000): Promise<DockerResult> {
  return docker(['-H', socket, ...args], { timeoutMs });
}

async function waitEngine(socket: string, log: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await nodeDocker(socket, ['info', '--format', '{{.ID}}'], 10_000)).code === 0) return;
    await sleep(200);
  }
  let tail = '';
  try { tail = readFileSync(log, 'utf8').slice(-3000); } catch { /* no log */ }
  throw new Error(`node dockerd at ${socket} did not answer within ${timeoutMs / 1000} s\n${tail}`);
}

async function mustDocker(socket: string, args: string[]): Promise<string> {
  const r = await nodeDocker(socket, args);
  if (r.code !== 0) throw new Error(`docker -H ${socket} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/** Waits until `docker node ls` on the manager shows `count` nodes, all Ready and Active. */
async function waitReady(manager: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await nodeDocker(manager, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}}']);
    last = r.stdout.trim();
    const rows = last.split('\n').filter(Boolean);
    if (rows.length === count && rows.every((l) => l.endsWith(' Ready Active'))) return;
    await sleep(250);
  }
  throw new Error(`swarm nodes not all Ready within ${timeoutMs / 1000} s:\n${last}`);
}

/** `docker save` from the host's engine into a file, then `docker load` of it on each node. */
async function loadImages(tags: string[], sockets: string[]): Promise<void> {
  if (tags.length === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'hiysw-images-'));
  try {
    const file = join(dir, 'images.tar');
    const saved = await docker(['save', '--output', file, ...tags], { timeoutMs: 300_000 });
    if (saved.code !== 0) throw new Error(`docker save ${tags.join(' ')}: ${saved.stderr}`);
    await Promise.all(sockets.map((s) => mustDocker(s, ['load', '--quiet', '--input', file])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts an N-node Swarm (1 ≤ N ≤ 9): node 1 inits, the others join as workers; resolves when all
 * are Ready. `swarm: false` stops before init: N plain engines, for tests of hiy making the Swarm.
 */
export async function startSwarm(opts: { nodes?: number; swarm?: boolean } = {}): Promise<TestSwarm> {
  const count = opts.nodes ?? 2;
  if (count < 1 || count > 9) throw new Error('startSwarm: 1 to 9 nodes');
  await sweepStaleRuns();
  const id = reserveRun();
  try {
    const net = await buildNetwork(id, count);
    const nodes: SwarmNode[] = net.nodes.map((n, i) => {
      const name = `n${i + 1}`;
      const etcDocker = join(stateDir(id), `${name}-etc-docker`);
      mkdirSync(join(etcDocker, 'certs.d'), { recursive: true });
      return { name, hostname: `${PREFIX}${id}-${name}`, netns: n.netns, address: n.address, dockerHost: `unix://${stateDir(id)}/${name}.sock`, dataRoot: join(dataDir(id), name), etcDocker };
    });
    for (const n of nodes) startDockerd(id, n.name, n.netns, n.etcDocker);
    await Promise.all(nodes.map((n) => waitEngine(n.dockerHost, join(stateDir(id), `${n.name}.log`))));
    const manager = nodes[0]!;
    if (opts.swarm === false) return swarmHandle(id, nodes, net.hostAddress);
    await mustDocker(manager.dockerHost, ['swarm', 'init', '--advertise-addr', manager.address, '--listen-addr', `${manager.address}:2377`]);
    const token = await mustDocker(manager.dockerHost, ['swarm', 'join-token', '--quiet', 'worker']);
    await Promise.all(nodes.slice(1).map((n) => mustDocker(n.dockerHost, ['swarm', 'join', '--token', token, '--advertise-addr', n.address, '--listen-addr', `${n.address}:2377`, `${manager.address}:2377`])));
    await waitReady(manager.dockerHost, count);
    return swarmHandle(id, nodes, net.hostAddress);
  } catch (err) {
    await removeRun(id).catch(() => undefined);
    throw err;
  }
}

function swarmHandle(id: string, nodes: SwarmNode[], hostAddress: string): TestSwarm {
  const node = (i: number): SwarmNode => {
    const n = nodes[i];
    if (!n) throw new Error(`no node ${i} (the swarm has ${nodes.length})`);
    return n;
  };
  const pick = (which?: number[]) => (which ?? nodes.map((_, i) => i)).map(node);
  return {
    id,
    nodes,
    hostAddress,
    docker: (i, args, timeoutMs) => nodeDocker(node(i).dockerHost, args, timeoutMs),
    loadImages: (tags, which) => loadImages(tags, pick(which).map((n) => n.dockerHost)),
    trustRegistry(hostPort, caPem, which) {
      if (!/^[A-Za-z0-9.-]+:\d+$/.test(hostPort)) throw new Error(`not a host:port: ${hostPort}`);
      for (const n of pick(which)) {
        mkdirSync(join(n.etcDocker, 'certs.d', hostPort), { recursive: true });
        writeFileSync(join(n.etcDocker, 'certs.d', hostPort, 'ca.crt'), caPem);
      }
    },
    async killDockerd(i) {
      const pid = Number(readFileSync(join(stateDir(id), `${node(i).name}.pid`), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      while (startTime(pid) !== undefined) await sleep(50);
    },
    async killNode(i) {
      const n = node(i);
      await killProcesses(id, n.name);
      await ip(['-n', n.netns, 'link', 'set', 'eth0', 'down']);
    },
    teardown: () => removeRun(id),
  };
}
