/**
 * Where an app's processes may run on a Swarm (hiy update --node-label, --spread; decision 46):
 * node labels every node that runs them must carry (Swarm placement constraints), and whether new
 * processes start on the node with the fewest of the app's tasks. Checked here at the boundary;
 * the runtime turns it into constraints (swarm-placement.ts). On one engine it is kept and shown
 * but changes nothing.
 */
import { HiyError } from '../errors.js';
import { LABEL_KEY, LABEL_KEY_RULE, LABEL_VALUE, LABEL_VALUE_RULE } from '../nodes/label-rules.js';
import type { Placement } from '../runtime/runtime.js';
import { labelPairs } from '../runtime/swarm-placement.js';
import type { App } from './repo.js';

/** More would be a typo, not a placement: each label narrows the nodes further. */
export const MAX_NODE_LABELS = 10;

const bad = (message: string): HiyError => new HiyError('invalid_input', message);

/** `{"role":"fast"}` as sent by the API; null or {} clears. Answers the stored JSON (null: any node). */
export function validateNodeLabels(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('node_labels must be an object of label: value, e.g. {"role":"fast"} ({} or null: any node)');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_NODE_LABELS) throw bad(`node_labels: at most ${MAX_NODE_LABELS} labels`);
  for (const [k, value] of entries) {
    if (!LABEL_KEY.test(k)) throw bad(`node label key "${k.slice(0, 70)}" must be ${LABEL_KEY_RULE}`);
    if (typeof value !== 'string' || value === '' || !LABEL_VALUE.test(value)) {
      throw bad(`node label ${k}: the value must be ${LABEL_VALUE_RULE}, and not empty (--node-label-clear removes them all)`);
    }
  }
  if (entries.length === 0) return null;
  return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))));
}

export function validateSpread(v: unknown): number {
  if (typeof v !== 'boolean') throw bad('spread must be true or false');
  return v ? 1 : 0;
}

/** The stored labels as an object ({} for any node). */
export function nodeLabelsOf(app: Pick<App, 'node_labels'>): Record<string, string> {
  return app.node_labels ? JSON.parse(app.node_labels) as Record<string, string> : {};
}

export function placementOf(app: Pick<App, 'node_labels' | 'spread'>): Placement {
  return { nodeLabels: nodeLabelsOf(app), spread: app.spread !== 0 };
}

/** `role=fast,disk=ssd`, or `any node`. */
export function describeLabels(labels: Record<string, string>): string {
  return labelPairs(labels) || 'any node';
}
