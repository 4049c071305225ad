import { bytes, percent } from '../format.js';
import type { StatusView } from '../../src/apps/status.js';
import { Badge, Sparkline, Time, shortSha } from './components.js';
import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface AppRowView {
  name: string;
  status: StatusView;
  /** hiy maintenance:on: Caddy shows the maintenance page. */
  maintenance: boolean;
  release: { version: number; sha: string } | null;
  domain: string;
  url: string;
  lastDeploy: { id: number; status: string; created_at: string } | null;
  cpu: number[];
  memory: number[];
}

export interface AppsProps {
  ctx: PageCtx;
  apps: AppRowView[];
  gitBase: string;
  /** Seconds until the rows refresh themselves (shorter while something builds). */
  refreshSec: number;
}

export function AppsPage(p: AppsProps) {
  return (
    <Layout ctx={p.ctx}>
      <div class="row spread">
        <h1>Apps</h1>
        <span class="muted small">{p.apps.length} app{p.apps.length === 1 ? '' : 's'} · <a href="/new-app" id="new-app-link">New app</a></span>
      </div>
      {p.apps.length === 0 ? <EmptyApps gitBase={p.gitBase} /> : <AppsTable apps={p.apps} refreshSec={p.refreshSec} />}
    </Layout>
  );
}

function EmptyApps({ gitBase }: { gitBase: string }) {
  return (
    <section class="card empty" id="empty-apps">
      <h2>No apps yet</h2>
      <p><a href="/new-app" class="button" id="empty-new-app">Create your first app</a> here, or from your laptop with the CLI.</p>
      <p>Then deploy it from its git repository:</p>
      <pre>{`hiy create myapp\ngit remote add hiy ${gitBase}/git/myapp.git\ngit push hiy main`}</pre>
      <p class="small muted">git asks for a password on the first push: give an API token (any user name).</p>
    </section>
  );
}

/** The table; its body refreshes itself through htmx so badges follow a running build. */
export function AppsTable({ apps, refreshSec }: { apps: AppRowView[]; refreshSec: number }) {
  return (
    <section class="card">
      <table class="stack" id="apps">
        <thead>
          <tr><th>App</th><th>Status</th><th>Release</th><th>Domain</th><th>Last deploy</th><th>CPU (1 h)</th><th>Memory (1 h)</th></tr>
        </thead>
        <AppRows apps={apps} refreshSec={refreshSec} />
      </table>
    </section>
  );
}

export function AppRows({ apps, refreshSec }: { apps: AppRowView[]; refreshSec: number }) {
  return (
    <tbody id="app-rows" hx-get="/apps/rows" hx-trigger={`every ${refreshSec}s`} hx-swap="outerHTML">
      {apps.map((a) => (
        <tr data-app={a.name}>
          <td data-label="App"><a href={`/apps/${a.name}`}><b>{a.name}</b></a></td>
          <td data-label="Status">
            <Badge status={a.status.status} label={a.status.label} />
            {a.maintenance ? <> <Badge status="queued" label="maintenance" /></> : null}
            {a.status.note ? <div class="small muted">{a.status.note}</div> : null}
          </td>
          <td data-label="Release">{a.release ? <span class="mono">v{a.release.version} · {shortSha(a.release.sha)}</span> : <span class="muted">—</span>}</td>
          <td data-label="Domain"><a href={a.url} rel="noopener noreferrer" target="_blank">{a.domain}</a></td>
          <td data-label="Last deploy">
            {a.lastDeploy ? <a href={`/apps/${a.name}/deploys/${a.lastDeploy.id}`}><Time iso={a.lastDeploy.created_at} /></a> : <span class="muted">never</span>}
          </td>
          <td data-label="CPU"><Sparkline values={a.cpu} max={100} label={`CPU of ${a.name}: ${spark(a.cpu, percent)}`} /></td>
          <td data-label="Memory"><Sparkline values={a.memory} kind="mem" label={`Memory of ${a.name}: ${spark(a.memory, bytes)}`} /></td>
        </tr>
      ))}
    </tbody>
  );
}

function spark(values: number[], fmt: (n: number) => string): string {
  if (values.length === 0) return 'no data';
  return `now ${fmt(values[values.length - 1]!)}, peak ${fmt(Math.max(...values))}`;
}
