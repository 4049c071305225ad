import type { DeployView } from '../../src/contract.js';
import type { StatusView } from '../../src/apps/status.js';
import { ansiToHtml } from '../ansi.js';
import { duration } from '../format.js';
import { AppHeader } from './app-header.js';
import { Badge, Card, Time, shortSha } from './components.js';
import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface DeployPageProps {
  ctx: PageCtx;
  app: { name: string; url: string; domain: string };
  status: StatusView;
  deploy: DeployView;
  /** The deploy is still queued or building: the log follows it over SSE. */
  live: boolean;
}

export function DeployPage(p: DeployPageProps) {
  const d = p.deploy;
  return (
    <Layout ctx={p.ctx}>
      <AppHeader name={p.app.name} url={p.app.url} domain={p.app.domain} status={p.status} tab="deploy" />
      <Card>
        <div class="row spread">
          <h2>Deploy #{d.id} <Badge status={d.status} id="deploy-status" /></h2>
          <a href={`/apps/${p.app.name}`} class="small">All deploys</a>
        </div>
        <p class="small">
          Commit <span class="mono">{shortSha(d.sha)}</span> · by {d.triggered_by} · queued <Time iso={d.created_at} />
          {d.started_at ? <> · {p.live ? 'running for' : 'took'} {duration(d.started_at, d.finished_at)}</> : null}
        </p>
        {d.error ? <p class="flash error" role="alert">{d.error}</p> : null}
        <h2 class="sr-only">Build log</h2>
        <pre class="log" id="deploy-log" aria-label="Build log" aria-live={p.live ? 'polite' : undefined}
          data-stream={p.live ? `/apps/${p.app.name}/deploys/${d.id}/stream` : undefined} data-status-target="deploy-status"
          dangerouslySetInnerHTML={{ __html: d.log === '' ? '' : ansiToHtml(d.log.replace(/\n$/, '')) }} />
        {p.live ? <p class="small muted">This log follows the deploy as it runs.</p> : null}
      </Card>
    </Layout>
  );
}
