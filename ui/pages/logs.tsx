import type { StatusView } from '../../src/apps/status.js';
import { AppHeader } from './app-header.js';
import { Card } from './components.js';
import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface LogsPageProps {
  ctx: PageCtx;
  app: { name: string; url: string; domain: string };
  status: StatusView;
  /** Already rendered by the ANSI renderer (escaped HTML). */
  html: string;
  lineCount: number;
  /** 'store': the log module's ring buffer with a live SSE tail; 'docker': the engine's recent output, refreshed by polling. */
  source: 'store' | 'docker';
  /** seq of the last line shown (store only): the live tail continues after it. */
  lastSeq?: number;
  error?: string | undefined;
}

export function LogsPage(p: LogsPageProps) {
  const name = p.app.name;
  return (
    <Layout ctx={p.ctx}>
      <AppHeader name={name} url={p.app.url} domain={p.app.domain} status={p.status} tab="logs" />
      <Card>
        <div class="row spread">
          <h2>Runtime logs</h2>
          <span class="small muted">last {p.lineCount} line{p.lineCount === 1 ? '' : 's'}{p.source === 'store' ? ', live' : ', refreshed every 5 s'}</span>
        </div>
        {p.error ? <p class="flash warn" role="status">{p.error}</p> : null}
        {p.source === 'store' ? (
          <pre class="log" id="app-log" aria-label={`Logs of ${name}`} data-stream={`/apps/${name}/logs/stream?after=${p.lastSeq ?? 0}`}
            dangerouslySetInnerHTML={{ __html: p.html }} />
        ) : (
          <div hx-get={`/apps/${name}/logs/recent`} hx-trigger="every 5s" hx-swap="innerHTML">
            <LogPre name={name} html={p.html} />
          </div>
        )}
      </Card>
    </Layout>
  );
}

export function LogPre({ name, html }: { name: string; html: string }) {
  return <pre class="log" id="app-log" aria-label={`Logs of ${name}`} dangerouslySetInnerHTML={{ __html: html }} />;
}
