/**
 * More than one box (issue #23): the engine's nodes as `hiy nodes*` and the system page see them.
 * The first nodes:add turns the engine into a Swarm manager; every node:add answers the one
 * command to run on the new box. Engine access goes only through the runtime's Cluster.
 */
import type { NodeView, NodesAnswer } from '../contract.js';
import { HiyError } from '../errors.js';
import type { Services } from '../services.js';
import { refuseStranding } from './label-guard.js';
import { LABEL_KEY, LABEL_KEY_RULE, LABEL_VALUE, LABEL_VALUE_RULE } from './label-rules.js';

/** An IPv4/IPv6 address or a host name, optionally with a port (what `docker swarm init --advertise-addr` takes). */
const ADVERTISE = /^([0-9.]+|\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]+|[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*)(:\d{1,5})?$/;

export async function listNodes(s: Services): Promise<NodesAnswer> {
  const cluster = await s.cluster();
  const [state, nodes] = await Promise.all([cluster.state(), cluster.nodes()]);
  return { swarm: state.swarm, nodes: withUsage(s, nodes) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Each node's CPU and memory in use: on a Swarm from the node-stats agents (decision 50), by node
 * id; a box of one engine (or one node) is the host hiy samples anyway.
 */
export function withUsage(s: Pick<Services, 'observability'>, nodes: NodeView[]): NodeView[] {
  const byNode = s.observability.nodeUsage();
  const host = s.observability.metrics.host;
  return nodes.map((n) => {
    const u = byNode?.get(n.id);
    if (u) return { ...n, usage: { cpu_pct: round1(u.cpuPct), memory_used_bytes: u.memoryUsed, memory_pct: round1(u.memoryPct), sampled_at: new Date(u.at).toISOString() } };
    if (!byNode && nodes.length === 1 && host) {
      return { ...n, usage: { cpu_pct: round1(host.cpuPct), memory_used_bytes: host.memoryUsed, memory_pct: round1(host.memoryPct), sampled_at: new Date(host.t * 1000).toISOString() } };
    }
    return n;
  });
}

export interface AddNodeAnswer {
  /** Whether this call turned the engine into a Swarm manager. */
  swarm_started: boolean;
  /** The one command to run, as root, on the new box. Holds the join token: treat it as a secret. */
  command: string;
  manager_address: string;
  /** host:port of the registry the nodes pull app images from. */
  registry: string;
}

/**
 * The new box trusts the nodes' registry's CA, installs Debian's Docker and joins; nothing else is
 * needed on it. The CA travels as base64 (one line, no quoting to get wrong).
 */
export function joinCommand(token: string, address: string, registry: { address: string; caPem: string }): string {
  const certs = `/etc/docker/certs.d/${registry.address}`;
  const ca = Buffer.from(registry.caPem).toString('base64');
  return `sudo sh -c 'mkdir -p ${certs} && echo ${ca} | base64 -d > ${certs}/ca.crt && apt-get update && apt-get install -y docker.io && docker swarm join --token ${token} ${address}'`;
}

/**
 * `initSwarm` must be set for the first node: making the engine a Swarm manager opens port 2377
 * and changes how it runs, so a bare POST (a script, a probe) never does it by accident.
 */
export async function addNode(s: Services, opts: { advertiseAddr?: string; initSwarm?: boolean }): Promise<AddNodeAnswer> {
  if (opts.advertiseAddr !== undefined && !ADVERTISE.test(opts.advertiseAddr)) {
    throw new HiyError('invalid_input', `advertise_addr "${opts.advertiseAddr.slice(0, 100)}" is not an address (for example 192.168.1.10)`);
  }
  const cluster = await s.cluster();
  const before = await cluster.state();
  if (before.swarm !== 'active') {
    if (opts.initSwarm !== true) throw new HiyError('conflict', 'this engine is no Swarm yet: adding the first node makes it a Swarm manager; send "init_swarm": true (hiy nodes:add does)');
    await cluster.init(opts.advertiseAddr);
    s.log.info({ advertiseAddr: opts.advertiseAddr }, 'the engine is now a Swarm manager');
  } else if (!before.manager) {
    throw new HiyError('conflict', 'this engine is a Swarm worker: add nodes on the manager');
  }
  const join = await cluster.join();
  const registry = await s.nodeRegistry.ensure();
  return { swarm_started: before.swarm !== 'active', command: joinCommand(join.token, join.address, registry), manager_address: join.address, registry: registry.address };
}

/** Drains the node (Swarm moves its tasks to the others), then removes it. */
export async function removeNode(s: Services, ref: string): Promise<{ removed: string }> {
  const cluster = await s.cluster();
  await cluster.drain(ref);
  await cluster.remove(ref);
  s.log.info({ node: ref }, 'node drained and removed');
  return { removed: ref };
}

/** `key=value` sets, `key=` removes (an empty value is no label). */
export function parseLabels(raw: unknown): Record<string, string | null> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) {
    throw new HiyError('invalid_input', 'labels must be an object of key: value (null or "" removes a label)');
  }
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!LABEL_KEY.test(k)) throw new HiyError('invalid_input', `label key "${k.slice(0, 70)}" must be ${LABEL_KEY_RULE}`);
    if (v !== null && (typeof v !== 'string' || !LABEL_VALUE.test(v))) throw new HiyError('invalid_input', `label ${k}: the value must be ${LABEL_VALUE_RULE}`);
    out[k] = v === '' ? null : v;
  }
  return out;
}

/** Refuses (409) to take a label from the last ready node an app's placement needs, unless `force`. */
export async function labelNode(s: Services, ref: string, labels: Record<string, string | null>, opts: { force?: boolean } = {}): Promise<NodeView> {
  const cluster = await s.cluster();
  if (opts.force !== true) await refuseStranding(s, await cluster.nodes(), ref, labels);
  return cluster.label(ref, labels);
}
