import type { RunView } from '../../src/contract.js';
import { Badge, Time } from './components.js';

/** How a run ended, as a badge and a few words. */
export function RunOutcome({ run }: { run: RunView }) {
  if (run.status === 'running') return <Badge status="building" label="running" />;
  if (run.status === 'exited') {
    return <><Badge status={run.exit_code === 0 ? 'success' : 'failed'} label={`exit ${run.exit_code ?? '?'}`} />{run.reason ? <span class="small muted"> {run.reason}</span> : null}</>;
  }
  return <><Badge status={run.status === 'skipped' || run.status === 'missed' ? 'queued' : 'failed'} label={run.status} />{run.reason ? <span class="small muted"> {run.reason}</span> : null}</>;
}

/** The audit of an app's runs: who ran what, when, and how it ended. */
export function RunsTable({ runs, id }: { runs: RunView[]; id: string }) {
  return (
    <table class="stack" id={id}>
      <thead><tr><th>#</th><th>Kind</th><th>By</th><th>Command</th><th>Started</th><th>Result</th></tr></thead>
      <tbody>
        {runs.map((r) => (
          <tr data-run={String(r.id)}>
            <td data-label="#">{r.id}</td>
            <td data-label="Kind">{r.kind}{r.job ? <span class="mono small"> {r.job}</span> : null}</td>
            <td data-label="By">{r.by}</td>
            <td data-label="Command" class="mono">{r.command}</td>
            <td data-label="Started"><Time iso={r.started_at} /></td>
            <td data-label="Result"><RunOutcome run={r} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
