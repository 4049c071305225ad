/**
 * Where a new process of an app starts: on the Ready node that runs the fewest of the app's tasks
 * (then the fewest of hiy's), so an app's web replicas sit on different nodes and one node's death
 * leaves the others serving. Swarm's own scheduler spreads only the tasks of one service, and
 * each replica is a service of its own here (swarm-spec.ts): measured, it put two replicas of an
 * app on one node of two. The choice is where the task starts, not a constraint it keeps.
 */
import type { SwarmNode, SwarmTask } from './swarm-tasks.js';

export function leastLoadedNode(nodes: SwarmNode[], tasks: (SwarmTask & { app?: string })[], app: string): string | undefined {
  const ready = nodes.filter((n) => n.Status?.State === 'ready' && (n.Spec?.Availability ?? 'active') === 'active');
  const live = tasks.filter((t) => t.DesiredState === 'running' && t.NodeID);
  const count = (node: string, ofApp: boolean) => live.filter((t) => t.NodeID === node && (!ofApp || t.app === app)).length;
  return ready
    .map((n) => ({ id: n.ID, mine: count(n.ID, true), all: count(n.ID, false) }))
    .sort((a, b) => a.mine - b.mine || a.all - b.all || a.id.localeCompare(b.id))[0]?.id;
}
