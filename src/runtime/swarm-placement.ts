/**
 * An app's placement (hiy update --node-label, --spread) on a Swarm: node labels become placement
 * constraints every task of the app's services keeps (Swarm moves a task whose node loses the
 * label: its constraint enforcer), and before a service is made, hiy checks that a ready node
 * meets them. Without that check a service whose constraints no node meets stays pending, and the
 * deploy would wait out its placement timeout to say so; with it, the deploy fails at once and
 * says which labels the nodes have, while the running release keeps serving.
 */
import { HiyError } from '../errors.js';
import type { SwarmNode } from './swarm-tasks.js';
import type { PlacementCheck } from './runtime.js';

export function placementConstraints(nodeLabels: Record<string, string>): string[] {
  return Object.entries(nodeLabels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `node.labels.${k}==${v}`);
}

const ready = (n: SwarmNode): boolean => n.Status?.State === 'ready' && (n.Spec?.Availability ?? 'active') === 'active';

export function carriesLabels(n: SwarmNode, nodeLabels: Record<string, string>): boolean {
  return Object.entries(nodeLabels).every(([k, v]) => n.Spec?.Labels?.[k] === v);
}

/** The nodes a new task may start on: ready, active, every label, and `onlyNode` when given (a volume's). */
export function eligibleNodes(nodes: SwarmNode[], nodeLabels: Record<string, string>, onlyNode?: string): SwarmNode[] {
  return nodes.filter((n) => ready(n) && carriesLabels(n, nodeLabels) && (onlyNode === undefined || n.ID === onlyNode));
}

const nameOf = (n: SwarmNode): string => n.Description?.Hostname ?? n.ID.slice(0, 12);

export function placementCheck(nodes: SwarmNode[], nodeLabels: Record<string, string>): PlacementCheck {
  return {
    nodes: nodes.map((n) => ({ name: nameOf(n), labels: { ...n.Spec?.Labels }, ready: ready(n) })),
    matching: eligibleNodes(nodes, nodeLabels).map(nameOf).sort(),
  };
}

/** `role=fast,disk=ssd` (sorted as given); `sep` ' ' for a command line. Empty for no labels. */
export function labelPairs(labels: Record<string, string> | undefined, sep = ','): string {
  return Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).join(sep);
}

/** Refuses to make a service no node can run, in words that say what to do about it. */
export function assertPlaceable(nodes: SwarmNode[], nodeLabels: Record<string, string>, what: { app: string; process: string; onlyNode?: string }): void {
  if (eligibleNodes(nodes, nodeLabels, what.onlyNode).length > 0) return;
  const wanted = labelPairs(nodeLabels);
  const seen = nodes.map((n) => `${nameOf(n)} (${ready(n) ? '' : `${n.Status?.State ?? 'unknown'}/${n.Spec?.Availability ?? 'active'}, `}${labelPairs(n.Spec?.Labels) || 'no labels'})`).join('; ');
  const volume = what.onlyNode ? ' and holds its volume (the manager)' : '';
  throw new HiyError('deploy_failed', `no ready node carries ${wanted}${volume}, so ${what.app}'s ${what.process} process cannot start anywhere; nodes: ${seen}. `
    + `Label a node (hiy nodes:label <node> ${labelPairs(nodeLabels, ' ')}) or change the app's placement (hiy update ${what.app} --node-label-clear)`);
}
