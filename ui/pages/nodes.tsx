import type { NodeView, NodesAnswer } from '../../src/contract.js';
import { bytes } from '../format.js';

/** The boxes apps run on (the system page asks for it after it has shown: it asks the engine). */
export function NodesTable({ answer }: { answer: NodesAnswer }) {
  const row = (n: NodeView) => (
    <tr class={n.state === 'ready' ? '' : 'down'}>
      <td data-label="Node"><b>{n.name}</b>{n.leader ? <span class="muted small"> (manager, hiy)</span> : null}</td>
      <td data-label="Address">{n.address || '—'}</td>
      <td data-label="State">{n.state === 'ready' ? n.state : <b>{n.state}</b>}{n.availability === 'active' ? '' : ` · ${n.availability}`}</td>
      <td data-label="CPUs">{n.cpus}</td>
      <td data-label="CPU use" class="node-cpu">{n.usage ? `${Math.round(n.usage.cpu_pct)}%` : '—'}</td>
      <td data-label="Memory">{bytes(n.memory_bytes)}</td>
      <td data-label="Memory use" class="node-memory">{n.usage ? `${bytes(n.usage.memory_used_bytes)} (${Math.round(n.usage.memory_pct)}%)` : '—'}</td>
      <td data-label="Labels">{Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '—'}</td>
      <td data-label="Apps">{n.apps.length === 0 ? '—' : n.apps.map((a, i) => <>{i > 0 ? ', ' : ''}<a href={`/apps/${a}`}>{a}</a></>)}</td>
    </tr>
  );
  return (
    <>
      <table class="stack" id="nodes">
        <thead><tr><th>Node</th><th>Address</th><th>State</th><th>CPUs</th><th>CPU use</th><th>Memory</th><th>Memory use</th><th>Labels</th><th>Apps</th></tr></thead>
        <tbody>{answer.nodes.map(row)}</tbody>
      </table>
      {answer.swarm === 'active' ? null : <p class="small muted">One box. <code>hiy nodes:add</code> adds another (docs/nodes.md).</p>}
    </>
  );
}
