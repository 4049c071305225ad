/**
 * Every node's CPU and memory, and each app task's, on a Swarm (decision 50). Docker has no
 * cluster-wide stats API and the nodes' engines are not reachable from here, so a global service
 * (one task per node: node-stats-agent.ts) prints its node's figures as log lines, and hiy reads
 * them through the manager's service log API, as it reads app logs: no port, no credential,
 * nothing on the nodes but Docker. The agent's image is built here (FROM scratch + this box's
 * static busybox) and reaches the nodes through hiy's registry like an app's (decision 48).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pack } from 'tar-stream';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { LABEL_APP, LABEL_INSTANCE, LABEL_MANAGED, LABEL_NODE_STATS } from './labels.js';
import { AGENT_AWK, AGENT_SH } from './node-stats-agent.js';
import { parseAgentLine } from './node-stats-line.js';
import { followServiceLogs } from './swarm-logs.js';
import type { RegistryAuth } from './swarm-services.js';
import type { EngineStream, NodeReading } from './runtime.js';

/** Static busybox (Debian's busybox-static): the agent's only program. */
export const AGENT_BUSYBOX = '/bin/busybox';
/** No app is called this (app names never hold "--"), so retention never touches its tags. */
const REPOSITORY = 'hiy/hiy--nodestats';
const MIB = 1024 * 1024;
/** Unknown containers in a reading make the task map refresh, at most this often. */
const TASKS_REFRESH_MS = 5_000;

export interface NodeStatsOptions {
  instance?: string;
  publishImage(ref: string): Promise<{ ref: string }>;
  registryAuth?(image: string): Promise<RegistryAuth | undefined>;
}

/** A dynamically linked busybox cannot run FROM scratch: refuse it here with the fix, not on the nodes. */
export function isStaticElf(head: Buffer): boolean {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (o: number) => (le ? head.readUInt16LE(o) : head.readUInt16BE(o));
  const u32 = (o: number) => (le ? head.readUInt32LE(o) : head.readUInt32BE(o));
  const phoff = is64 ? Number(le ? head.readBigUInt64LE(0x20) : head.readBigUInt64BE(0x20)) : u32(0x1c);
  const size = u16(is64 ? 0x36 : 0x2a);
  const count = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < count; i++) {
    const at = phoff + i * size;
    if (at + 4 > head.length) return false;
    if (u32(at) === 3) return false; // PT_INTERP: it needs a dynamic loader
  }
  return true;
}

async function agentImage(docker: Docker, log: Logger): Promise<string> {
  const busybox = await readFile(AGENT_BUSYBOX).catch((err: unknown) => {
    throw new HiyError('config', `the node-stats agent needs ${AGENT_BUSYBOX} (sudo apt-get install busybox-static; infra/install.sh --nodes installs it)`, { cause: err });
  });
  if (!isStaticElf(busybox.subarray(0, 4096))) throw new HiyError('config', `${AGENT_BUSYBOX} is not statically linked: install Debian's busybox-static for the node-stats agent`);
  const dockerfile = [
    'FROM scratch',
    'COPY busybox /bin/busybox',
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
    'COPY agent.sh agent.awk /',
    'ENV PATH=/bin',
    'USER 65534:65534',
    'ENTRYPOINT ["/bin/busybox", "sh", "/agent.sh"]',
    '',
  ].join('\n');
  const tag = createHash('sha256').update(busybox).update(dockerfile).update(AGENT_SH).update(AGENT_AWK).digest('hex').slice(0, 16);
  const ref = `${REPOSITORY}:${tag}`;
  try {
    await docker.getImage(ref).inspect();
    return ref;
  } catch (err) {
    if (statusOf(err) !== 404) throw engineError(err, `inspecting ${ref}`);
  }
  const tar = pack();
  for (const [name, body, mode] of [['Dockerfile', dockerfile, 0o644], ['busybox', busybox, 0o755], ['agent.sh', AGENT_SH, 0o644], ['agent.awk', AGENT_AWK, 0o644]] as const) {
    tar.entry({ name, mode }, body);
  }
  tar.finalize();
  const res = (await docker.buildImage(tar as unknown as NodeJS.ReadableStream, { t: ref, rm: true, forcerm: true }).catch((err: unknown) => { throw engineError(err, 'building the node-stats agent'); })) as IncomingMessage;
  const failure = await new Promise<string | undefined>((resolve, reject) => {
    let error: string | undefined;
    docker.modem.followProgress(res, (err: Error | null) => (err ? reject(err) : resolve(error)), (e: { error?: string }) => { if (e.error) error = e.error; });
  });
  if (failure) throw new HiyError('internal', `building the node-stats agent failed: ${failure}`);
  log.info({ image: ref }, 'built the node-stats agent');
  return ref;
}

/** The agent's global service: hardened like an app's task, and smaller. */
export function agentServiceSpec(o: { name: string; image: string; intervalSec: number; labels: Record<string, string> }): Docker.CreateServiceOptions {
  return {
    Name: o.name,
    Labels: o.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Labels: o.labels,
        // Swarm fills in the node's id per task.
        Env: ['HIY_NODE={{.Node.ID}}', `HIY_INTERVAL=${o.intervalSec}`],
        User: '65534:65534',
        ReadOnly: true,
        CapabilityDrop: ['ALL'],
        Mounts: [{ Type: 'bind', Source: '/sys/fs/cgroup', Target: '/host/cgroup', ReadOnly: true }],
        StopGracePeriod: 1e9,
      },
      Resources: { Limits: { MemoryBytes: 16 * MIB, NanoCPUs: 0.2e9, Pids: 16 } },
      RestartPolicy: { Condition: 'any', Delay: 5e9 },
      // Lines are read as they come: a small log keeps nothing long on the node.
      LogDriver: { Name: 'json-file', Options: { 'max-size': '256k', 'max-file': '2' } },
    },
    Mode: { Global: {} },
  } as Docker.CreateServiceOptions;
}

interface ServiceLike { ID: string; Spec?: { TaskTemplate?: { ContainerSpec?: { Image?: string; Env?: string[] } } } }
interface TaskLike { NodeID?: string; Spec?: { ContainerSpec?: { Labels?: Record<string, string> } }; Status?: { ContainerStatus?: { ContainerID?: string } } }

/** Starts the agent service (or keeps the one that runs with the same image and interval); answers its id. */
async function ensureAgent(docker: Docker, log: Logger, o: NodeStatsOptions, intervalSec: number): Promise<string> {
  const local = await agentImage(docker, log);
  const image = (await o.publishImage(local)).ref;
  const instance = o.instance ?? 'default';
  const labels = { [LABEL_MANAGED]: '1', [LABEL_NODE_STATS]: instance, ...(o.instance ? { [LABEL_INSTANCE]: o.instance } : {}) };
  const spec = agentServiceSpec({ name: `hiy-nodestats-${instance.replace(/[^a-zA-Z0-9-]/g, '').slice(0, 20)}`, image, intervalSec, labels });
  const existing = (await docker.listServices({ filters: { label: [`${LABEL_NODE_STATS}=${instance}`] } }).catch((err: unknown) => { throw engineError(err, 'listing services'); })) as ServiceLike[];
  const want = spec.TaskTemplate as { ContainerSpec: { Image: string; Env: string[] } };
  const same = existing.find((s) => s.Spec?.TaskTemplate?.ContainerSpec?.Image?.startsWith(image) && s.Spec.TaskTemplate.ContainerSpec.Env?.join() === want.ContainerSpec.Env.join());
  for (const s of existing) if (s !== same) await docker.getService(s.ID).remove().catch((err: unknown) => { if (statusOf(err) !== 404) throw engineError(err, 'removing an old node-stats agent'); });
  if (same) return same.ID;
  const auth = await o.registryAuth?.(image);
  // Auth first, spec second (dockerode sends no login with one argument).
  const created = (await (docker as unknown as { createService(auth: RegistryAuth | undefined, spec: object): Promise<{ id?: string; ID?: string }> })
    .createService(auth, spec).catch((err: unknown) => { throw engineError(err, 'starting the node-stats agent'); }));
  log.info({ image }, 'started the node-stats agent on every node');
  return created.id ?? created.ID ?? spec.Name!;
}

/**
 * Follows the agent's lines from every node; each becomes a NodeReading with the containers that
 * are tasks of this hiy's apps named by app (others are left out). Resolves once the agent runs
 * (or was asked to start) and its output is followed.
 */
export async function followNodeStats(docker: Docker, log: Logger, o: NodeStatsOptions, intervalSec: number, onReading: (r: NodeReading) => void): Promise<EngineStream> {
  const service = await ensureAgent(docker, log, o, intervalSec);
  let apps = new Map<string, string>();
  let refreshed = 0;
  let refreshing: Promise<void> | undefined;
  const refresh = () => (refreshing ??= (async () => {
    try {
      const tasks = (await docker.listTasks({ filters: { label: [`${LABEL_MANAGED}=1`], 'desired-state': ['running'] } })) as TaskLike[];
      const next = new Map<string, string>();
      for (const t of tasks) {
        const l = t.Spec?.ContainerSpec?.Labels ?? {};
        const id = t.Status?.ContainerStatus?.ContainerID;
        if (!id || !l[LABEL_APP] || (o.instance && l[LABEL_INSTANCE] !== o.instance)) continue;
        next.set(id, l[LABEL_APP]);
      }
      apps = next;
      refreshed = Date.now();
    } catch (err) {
      log.warn({ err }, 'could not list the Swarm\'s tasks for their metrics');
    } finally {
      refreshing = undefined;
    }
  })());
  await refresh();
  const warned = new Set<string>();
  /** Containers the last task listing already knew of (apps' or not: the agent, add-ons). */
  const checked = new Set<string>();
  return followServiceLogs(docker, service, { tail: 0 }, (line) => {
    const r = parseAgentLine(line.text);
    if (!r) return;
    if (!r.own && !warned.has(r.node)) {
      warned.add(r.node);
      log.warn({ node: r.node }, 'the node-stats agent could not find its own cgroup on a node: its app tasks are not measured');
    }
    const emit = () => onReading({
      nodeId: r.node, uptime: r.uptime, cpu: r.cpu, memory: r.memory,
      tasks: r.containers.flatMap((c) => {
        const app = apps.get(c.id);
        return app ? [{ id: c.id, app, cpuNs: c.cpuNs, memoryBytes: c.memoryBytes }] : [];
      }),
    });
    // A task that started since the last listing is named at once, not one interval later.
    const unknown = r.containers.some((c) => !apps.has(c.id) && !checked.has(c.id));
    if (unknown && Date.now() - refreshed > TASKS_REFRESH_MS) {
      void refresh().then(() => {
        if (checked.size > 1000) checked.clear();
        for (const c of r.containers) checked.add(c.id);
        emit();
      });
    } else emit();
  });
}
