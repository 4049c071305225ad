/**
 * The Cluster on a Docker engine: Swarm's node API through dockerode. A box whose engine is no
 * Swarm manager is one node (this engine, from `docker info`), so `hiy nodes` works everywhere
 * and costs nothing until nodes:add turns the engine into a manager.
 */
import type { NodeView } from '../contract.js';
import { HiyError } from '../errors.js';
import type { Cluster, ClusterState, JoinInfo } from './cluster.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { pushImage } from './docker-push.js';
import { LABEL_APP, LABEL_INSTANCE } from './labels.js';

/** Swarm's port for joining nodes. */
export const SWARM_PORT = 2377;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Info {
  ID?: string;
  Name?: string;
  NCPU?: number;
  MemTotal?: number;
  ServerVersion?: string;
  LiveRestoreEnabled?: boolean;
  Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string; NodeAddr?: string };
}

interface SwarmNode {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string>; Name?: string };
  Description?: { Hostname?: string; Resources?: { NanoCPUs?: number; MemoryBytes?: number }; Engine?: { EngineVersion?: string } };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Addr?: string };
}

interface Task { NodeID?: string; Spec?: { ContainerSpec?: { Labels?: Record<string, string> } }; Status?: { State?: string } }

const LIVE_RESTORE_FIX = 'Swarm refuses an engine with live-restore on: set "live-restore": false in /etc/docker/daemon.json '
  + '(install.sh keeps your setting), then restart the engine (sudo systemctl restart docker; apps restart with it), and run this again';

function nodeView(n: SwarmNode, apps: string[]): NodeView {
  const addr = n.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : (n.ManagerStatus?.Addr ?? '').replace(/:\d+$/, '');
  return {
    id: n.ID,
    name: n.Description?.Hostname ?? n.ID,
    address: addr,
    state: n.Status?.State ?? 'unknown',
    availability: n.Spec?.Availability ?? 'active',
    role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
    leader: n.ManagerStatus?.Leader === true,
    cpus: Math.round((n.Description?.Resources?.NanoCPUs ?? 0) / 1e9),
    memory_bytes: n.Description?.Resources?.MemoryBytes ?? 0,
    labels: n.Spec?.Labels ?? {},
    apps,
    engine_version: n.Description?.Engine?.EngineVersion ?? '',
    // Observability's figures, added by the nodes service (src/nodes/service.ts).
    usage: null,
  };
}

export function createDockerCluster(docker: Docker, opts: { instance?: string } = {}): Cluster {
  const info = async (): Promise<Info> => (await docker.info().catch((err: unknown) => { throw engineError(err, 'docker info'); })) as Info;
  const isManager = (i: Info) => i.Swarm?.LocalNodeState === 'active' && i.Swarm.ControlAvailable === true;

  async function managerOnly(): Promise<void> {
    const i = await info();
    if (i.Swarm?.LocalNodeState !== 'active') throw new HiyError('conflict', 'this box has no other nodes yet (no Swarm): hiy nodes:add starts one');
    if (!isManager(i)) throw new HiyError('conflict', 'this engine is a Swarm worker, not a manager: run hiy on the manager');
  }

  /** The node, by id, hostname or id prefix; an unknown one is a 404 naming the nodes there are. */
  async function find(ref: string): Promise<SwarmNode> {
    await managerOnly();
    const all = (await docker.listNodes()) as SwarmNode[];
    const hits = all.filter((n) => n.ID === ref || n.Description?.Hostname === ref || (ref.length >= 6 && n.ID.startsWith(ref)));
    if (hits.length === 1) return hits[0]!;
    const names = all.map((n) => n.Description?.Hostname ?? n.ID).join(', ');
    if (hits.length > 1) throw new HiyError('conflict', `"${ref}" names ${hits.length} nodes: use the node id (hiy nodes)`);
    throw new HiyError('not_found', `no node "${ref}" (nodes: ${names})`);
  }

  /** Apps per node id: from running tasks' container labels (Swarm) or this engine's containers. */
  async function appsByNode(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    const add = (node: string, app: string | undefined) => {
      if (!app) return;
      if (!out.has(node)) out.set(node, new Set());
      out.get(node)!.add(app);
    };
    const labels = [LABEL_APP, ...(opts.instance ? [`${LABEL_INSTANCE}=${opts.instance}`] : [])];
    const tasks = (await docker.listTasks({ filters: { 'desired-state': ['running'] } })) as Task[];
    for (const t of tasks) {
      const l = t.Spec?.ContainerSpec?.Labels ?? {};
      if (opts.instance && l[LABEL_INSTANCE] !== opts.instance) continue;
      if (t.NodeID) add(t.NodeID, l[LABEL_APP]);
    }
    // Containers hiy runs directly (add-ons pinned to this box, a one-node runtime) count on this node.
    const self = (await info()).Swarm?.NodeID ?? '';
    for (const c of await docker.listContainers({ filters: { label: labels, status: ['running'] } })) add(self, c.Labels[LABEL_APP]);
    return out;
  }

  return {
    async state(): Promise<ClusterState> {
      const i = await info();
      const s = i.Swarm?.LocalNodeState ?? 'inactive';
      return { swarm: (['active', 'pending', 'error', 'locked'].includes(s) ? s : 'inactive') as ClusterState['swarm'], liveRestore: i.LiveRestoreEnabled === true, manager: isManager(i) };
    },

    async nodes(): Promise<NodeView[]> {
      const i = await info();
      if (!isManager(i)) {
        const labels = [LABEL_APP, ...(opts.instance ? [`${LABEL_INSTANCE}=${opts.instance}`] : [])];
        const running = await docker.listContainers({ filters: { label: labels, status: ['running'] } });
        const apps = [...new Set(running.map((c) => c.Labels[LABEL_APP]).filter((a): a is string => !!a))].sort();
        return [{
          id: i.ID ?? '', name: i.Name ?? 'this box', address: '', state: 'ready', availability: 'active', role: 'manager', leader: true,
          cpus: i.NCPU ?? 0, memory_bytes: i.MemTotal ?? 0, labels: {}, apps, engine_version: i.ServerVersion ?? '', usage: null,
        }];
      }
      const [all, apps] = await Promise.all([docker.listNodes() as Promise<SwarmNode[]>, appsByNode()]);
      return all.map((n) => nodeView(n, [...(apps.get(n.ID) ?? [])].sort()))
        .sort((a, b) => Number(b.leader) - Number(a.leader) || a.name.localeCompare(b.name));
    },

    async init(advertiseAddr) {
      const i = await info();
      if (i.Swarm?.LocalNodeState === 'active') return;
      if (i.LiveRestoreEnabled) throw new HiyError('conflict', LIVE_RESTORE_FIX);
      try {
        await docker.swarmInit({ ListenAddr: `0.0.0.0:${SWARM_PORT}`, ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}) });
      } catch (err) {
        if (statusOf(err) === 400 && /advertise/i.test(String((err as Error).message))) {
          throw new HiyError('invalid_input', `the engine cannot tell which address the other nodes reach it at: pass --advertise-addr <this box's LAN address> (${(err as Error).message})`, { cause: err });
        }
        throw engineError(err, 'swarm init', 'conflict');
      }
    },

    async join(): Promise<JoinInfo> {
      await managerOnly();
      const swarm = (await docker.swarmInspect()) as { JoinTokens?: { Worker?: string } };
      const i = await info();
      const token = swarm.JoinTokens?.Worker;
      if (!token || !i.Swarm?.NodeAddr) throw new HiyError('internal', 'the Swarm gave no join token or manager address');
      return { token, address: `${i.Swarm.NodeAddr}:${SWARM_PORT}` };
    },

    async drain(ref, timeoutMs = 300_000) {
      const n = await find(ref);
      if (n.ManagerStatus?.Leader) throw new HiyError('conflict', `${n.Description?.Hostname ?? n.ID} is the manager hiy runs on: it cannot be drained or removed`);
      await docker.getNode(n.ID).update({ _query: { version: n.Version?.Index }, _body: { ...n.Spec, Availability: 'drain' } });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const tasks = (await docker.listTasks({ filters: { node: [n.ID] } })) as Task[];
        if (!tasks.some((t) => ['running', 'starting', 'preparing', 'assigned', 'accepted', 'ready', 'pending', 'new'].includes(t.Status?.State ?? ''))) return;
        if (Date.now() > deadline) throw new HiyError('unavailable', `tasks still run on ${n.Description?.Hostname ?? n.ID} after ${Math.round(timeoutMs / 1000)} s of draining`);
        await sleep(500);
      }
    },

    async remove(ref) {
      const n = await find(ref);
      if (n.ManagerStatus?.Leader) throw new HiyError('conflict', `${n.Description?.Hostname ?? n.ID} is the manager hiy runs on: it cannot be removed`);
      await docker.getNode(n.ID).remove({ force: true }).catch((err: unknown) => { throw engineError(err, 'node rm', 'conflict'); });
    },

    async label(ref, labels) {
      const n = await find(ref);
      const next = { ...(n.Spec?.Labels ?? {}) };
      for (const [k, v] of Object.entries(labels)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      await docker.getNode(n.ID).update({ _query: { version: n.Version?.Index }, _body: { ...n.Spec, Labels: next } });
      const updated = (await docker.getNode(n.ID).inspect()) as SwarmNode;
      return nodeView(updated, [...((await appsByNode()).get(n.ID) ?? [])].sort());
    },

    pushImage: (image, to) => pushImage(docker, image, to),
  };
}
