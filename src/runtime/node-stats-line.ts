/**
 * One line of the node-stats agent (node-stats-agent.ts) read back: anything else on its output
 * (a shell's complaint, a cut line) is no reading. Numbers are checked, ids are container ids.
 */

export interface AgentReading {
  /** The Swarm node id the task runs on. */
  node: string;
  /** The node's uptime in seconds: the clock its CPU figures are compared against. */
  uptime: number;
  cpu: { total: number; idle: number; cores: number };
  memory: { total: number; used: number };
  /** Whether the agent found its own cgroup (without it, it cannot list its node's containers). */
  own: boolean;
  containers: { id: string; cpuNs: number; memoryBytes: number }[];
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const NODE_ID = /^[a-z0-9]{1,64}$/;
const num = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

export function parseAgentLine(text: string): AgentReading | undefined {
  if (!text.startsWith('{"hiy":"node-stats"')) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = o as { v?: unknown; node?: unknown; up?: unknown; cpu?: unknown; mem?: unknown; own?: unknown; c?: unknown };
  if (r.v !== 1 || typeof r.node !== 'string' || !NODE_ID.test(r.node) || !num(r.up)) return undefined;
  if (!Array.isArray(r.cpu) || r.cpu.length !== 3 || !r.cpu.every(num)) return undefined;
  if (!Array.isArray(r.mem) || r.mem.length !== 2 || !r.mem.every(num)) return undefined;
  if (!Array.isArray(r.c)) return undefined;
  const [total, idle, cores] = r.cpu as number[];
  const [memTotal, used] = r.mem as number[];
  const containers: AgentReading['containers'] = [];
  for (const c of r.c as unknown[]) {
    if (!Array.isArray(c) || c.length !== 3) continue;
    const [id, cpuNs, memoryBytes] = c as unknown[];
    if (typeof id === 'string' && CONTAINER_ID.test(id) && num(cpuNs) && num(memoryBytes)) containers.push({ id, cpuNs, memoryBytes });
  }
  return { node: r.node, uptime: r.up, cpu: { total: total!, idle: idle!, cores: Math.max(1, cores!) }, memory: { total: memTotal!, used: used! }, own: r.own === true, containers };
}
