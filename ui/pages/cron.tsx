import type { CronJobView, RunDetail } from '../../src/contract.js';
import type { StatusView } from '../../src/apps/status.js';
import { AppHeader } from './app-header.js';
import { Card, Time } from './components.js';
import { CsrfField, Layout } from './layout.js';
import { RunOutcome } from './runs.js';
import { ansiToHtml } from '../ansi.js';
import type { PageCtx } from './types.js';

export interface CronPageProps {
  ctx: PageCtx;
  app: { name: string; url: string; domain: string };
  status: StatusView;
  timezone: string;
  jobs: CronJobView[];
  runs: RunDetail[];
}

/** The Cron tab: app.json's jobs of the current release, run now, and their recent runs with output. */
export function CronPage(p: CronPageProps) {
  const name = p.app.name;
  return (
    <Layout ctx={p.ctx}>
      <AppHeader name={name} url={p.app.url} domain={p.app.domain} status={p.status} tab="cron" />
      <Card title="Scheduled jobs">
        {p.jobs.length === 0 ? <p class="muted" id="cron-empty">No cron jobs. Add a "cron" list to app.json and push (see docs/run-and-cron.md).</p> : (
          <>
            <table class="stack" id="cron-jobs">
              <thead><tr><th>Job</th><th>Schedule</th><th>Command</th><th>Next</th><th>Last</th><th></th></tr></thead>
              <tbody>
                {p.jobs.map((j) => (
                  <tr data-job={j.id}>
                    <td data-label="Job" class="mono">{j.id}</td>
                    <td data-label="Schedule" class="mono">{j.schedule}</td>
                    <td data-label="Command" class="mono">{j.command}</td>
                    <td data-label="Next">{j.maintenance ? <span class="muted">maintenance</span> : <Time iso={j.next_run} />}</td>
                    <td data-label="Last">{j.running !== null ? <span>running (#{j.running})</span> : j.last ? <RunOutcome run={j.last} /> : <span class="muted">never ran</span>}</td>
                    <td>
                      <form method="post" action={`/apps/${name}/cron/${j.id}/run`} class="inline">
                        <CsrfField token={p.ctx.csrf} />
                        <button type="submit" class="secondary" aria-label={`Run job ${j.id} now`} disabled={j.running !== null}>Run now</button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="small muted">Times are in {p.timezone}. A job still running at its next time is skipped.</p>
          </>
        )}
      </Card>
      <Card title="Recent runs">
        {p.runs.length === 0 ? <p class="muted">No cron runs yet.</p> : p.runs.map((r) => (
          <div class="cron-run" data-run={String(r.id)}>
            <p>
              <b>#{r.id}</b> <span class="mono">{r.job}</span> <Time iso={r.scheduled_at ?? r.started_at} /> <RunOutcome run={r} />
              <span class="small muted"> by {r.by}{r.release !== null ? `, release v${r.release}` : ''}</span>
            </p>
            {r.output ? <pre class="log" dangerouslySetInnerHTML={{ __html: ansiToHtml(r.output.replace(/\n$/, '')) }} /> : null}
          </div>
        ))}
      </Card>
    </Layout>
  );
}
