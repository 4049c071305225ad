/**
 * `hiy nodes:label` must not strand an app: removing or changing a label that an app's placement
 * needs, on the last ready node that carries it, would make Swarm stop the app's processes there
 * with nowhere to start them (docs/nodes.md). Refused with the apps named, unless forced.
 */
import type { NodeView } from '../contract.js';
import { HiyError } from '../errors.js';
import { nodeLabelsOf } from '../apps/placement.js';
import { listApps } from '../apps/repo.js';
import type { Services } from '../services.js';

const carries = (labels: Record<string, string>, wanted: Record<string, string>): boolean => Object.entries(wanted).every(([k, v]) => labels[k] === v);
const takesTasks = (n: NodeView): boolean => n.state === 'ready' && n.availability === 'active';

/** The node's labels once `changes` apply (null removes). */
export function labelsAfter(labels: Record<string, string>, changes: Record<string, string | null>): Record<string, string> {
  const next = { ...labels };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

/**
 * The apps whose placement `node` meets now and would not after `changes`, while no other ready,
 * active node meets it: each as `app (key=value,…)`.
 */
export function strandedApps(nodes: NodeView[], node: NodeView, changes: Record<string, string | null>, apps: { name: string; labels: Record<string, string> }[]): string[] {
  const after = labelsAfter(node.labels, changes);
  return apps.filter(({ labels }) => Object.keys(labels).length > 0 && carries(node.labels, labels) && !carries(after, labels)
    && !nodes.some((n) => n.id !== node.id && takesTasks(n) && carries(n.labels, labels)))
    .map(({ name, labels }) => `${name} (${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')})`);
}

/** Throws a 409 naming the apps `changes` on `ref` would leave with no node; an unknown node is left to the engine's 404. */
export async function refuseStranding(s: Pick<Services, 'db'>, nodes: NodeView[], ref: string, changes: Record<string, string | null>): Promise<void> {
  const node = nodes.find((n) => n.id === ref || n.name === ref) ?? (ref.length >= 6 ? nodes.find((n) => n.id.startsWith(ref)) : undefined);
  if (!node) return;
  const apps = (await listApps(s.db)).map((a) => ({ name: a.name, labels: nodeLabelsOf(a) }));
  const stranded = strandedApps(nodes, node, changes, apps);
  if (stranded.length === 0) return;
  throw new HiyError('conflict', `${node.name} is the only ready node that ${stranded.length === 1 ? 'the placement of this app needs' : 'these apps\' placements need'}: ${stranded.join('; ')}. `
    + `Nothing changed. Label another node first (hiy nodes:label <node> key=value), change the app's placement (hiy update <app> --node-label-clear), or pass --force to stop those apps' processes until a node carries the labels again`);
}
