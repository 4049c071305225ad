/**
 * Every node's CPU and memory in use, and each app's summed over its tasks on all nodes, from the
 * node-stats agent's readings (decision 50). Loaded only on a Swarm (observability.ts): a box with
 * one engine samples its own /proc and cgroups (sampler.ts) and never loads this.
 */
import type { NodeReading } from '../runtime/runtime.js';
import { cpuPercent, percent } from './host.js';
import type { AppSample } from './sampler.js';

export interface NodeUsage {
  nodeId: string;
  /** When hiy got the reading (ms). */
  at: number;
  /** Busy share of all the node's cores, 0-100. */
  cpuPct: number;
  cpuCount: number;
  memoryUsed: number;
  memoryTotal: number;
  memoryPct: number;
}

interface Latest {
  reading: NodeReading;
  usage: NodeUsage;
  /** Per task: CPU % of one core since the previous reading (100 = one core busy, as `docker stats`). */
  tasks: Map<string, { app: string; cpuPct: number; memoryBytes: number }>;
}

export class ClusterUsage {
  private readonly latest = new Map<string, Latest>();

  /** Readings older than `staleMs` (a node down, its agent gone) count no more. */
  constructor(private readonly staleMs: number, private readonly now = () => Date.now()) {}

  add(r: NodeReading): void {
    const prev = this.latest.get(r.nodeId)?.reading;
    // A node that rebooted restarts its counters: compare nothing with the time before.
    const comparable = prev !== undefined && r.uptime > prev.uptime;
    const cpuPct = comparable ? cpuPercent({ ...prev.cpu }, { ...r.cpu }) : 0;
    const wallNs = comparable ? (r.uptime - prev.uptime) * 1e9 : 0;
    const before = new Map(comparable ? prev.tasks.map((t) => [t.id, t.cpuNs]) : []);
    const tasks = new Map<string, { app: string; cpuPct: number; memoryBytes: number }>();
    for (const t of r.tasks) {
      const was = before.get(t.id);
      const cpu = was !== undefined && wallNs > 0 ? Math.max(0, (100 * (t.cpuNs - was)) / wallNs) : 0;
      tasks.set(t.id, { app: t.app, cpuPct: cpu, memoryBytes: t.memoryBytes });
    }
    this.latest.set(r.nodeId, {
      reading: r,
      tasks,
      usage: {
        nodeId: r.nodeId, at: this.now(), cpuPct, cpuCount: r.cpu.cores,
        memoryUsed: r.memory.used, memoryTotal: r.memory.total, memoryPct: percent(r.memory.used, r.memory.total),
      },
    });
  }

  private fresh(): Latest[] {
    const t = this.now();
    return [...this.latest.values()].filter((l) => t - l.usage.at <= this.staleMs);
  }

  /** The nodes heard from lately, by node id. */
  nodes(): Map<string, NodeUsage> {
    return new Map(this.fresh().map((l) => [l.usage.nodeId, l.usage]));
  }

  /** Each app's CPU and memory over its tasks on every node heard from lately. */
  apps(t: number): Map<string, AppSample> {
    const out = new Map<string, AppSample>();
    for (const l of this.fresh()) {
      for (const task of l.tasks.values()) {
        const s = out.get(task.app) ?? { t, cpuPct: 0, memoryBytes: 0, containers: 0 };
        s.cpuPct += task.cpuPct;
        s.memoryBytes += task.memoryBytes;
        s.containers++;
        out.set(task.app, s);
      }
    }
    return out;
  }
}
