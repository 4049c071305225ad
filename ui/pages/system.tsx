import { bytes, percent, uptime, widthClass } from '../format.js';
import type { AlertView, HostMetrics } from '../sources.js';
import { Card, Sparkline, Time } from './components.js';
import { Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface SystemPageProps {
  ctx: PageCtx;
  host: HostMetrics;
  alerts: AlertView[];
  dataDir: string;
  appCount: number;
}

function Meter({ label, pct, text, id }: { label: string; pct: number | null; text: string; id: string }) {
  const hot = pct !== null && pct >= 85;
  return (
    <section class="card stat" id={id}>
      <span class="muted small">{label}</span>
      <b>{pct === null ? '—' : percent(pct)}</b>
      <div class={`bar${hot ? ' hot' : ''}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct === null ? undefined : Math.round(pct)}>
        <span class={widthClass(pct ?? 0)}></span>
      </div>
      <p class="small muted">{text}</p>
    </section>
  );
}

export function SystemPage(p: SystemPageProps) {
  const h = p.host;
  const memPct = h.memoryTotal > 0 ? (100 * h.memoryUsed) / h.memoryTotal : null;
  const diskPct = h.diskTotal > 0 ? (100 * h.diskUsed) / h.diskTotal : null;
  const open = p.alerts.filter((a) => a.resolvedAt === null);
  return (
    <Layout ctx={p.ctx}>
      <h1>System</h1>
      {open.length > 0 ? (
        <p class="flash error" role="alert">{open.length} open alert{open.length === 1 ? '' : 's'}: {open.map((a) => a.message).join('; ')}</p>
      ) : null}
      <div class="grid">
        <Meter id="cpu" label="CPU" pct={h.cpuPct} text={h.load ? `load ${h.load.map((l) => l.toFixed(2)).join(' ')}` : ''} />
        <Meter id="memory" label="Memory" pct={memPct} text={`${bytes(h.memoryUsed)} of ${bytes(h.memoryTotal)} in use`} />
        <Meter id="disk" label="Disk (data dir)" pct={diskPct} text={`${bytes(h.diskUsed)} of ${bytes(h.diskTotal)} used`} />
        <section class="card stat" id="uptime">
          <span class="muted small">Uptime</span>
          <b>{uptime(h.uptimeSec)}</b>
          <p class="small muted">{p.appCount} app{p.appCount === 1 ? '' : 's'}</p>
        </section>
      </div>
      <Card title="Nodes">
        <div id="nodes-card" hx-get="/system/nodes" hx-trigger="load" hx-swap="innerHTML">
          <span class="muted">Asking Docker… (<a href="/system/nodes">open</a>)</span>
        </div>
      </Card>
      <Card title="Docker's share of the disk">
        <p id="docker-disk" hx-get="/system/docker" hx-trigger="load" hx-swap="innerHTML">
          <span class="muted">Asking Docker… (<a href="/system/docker">open</a>)</span>
        </p>
      </Card>
      <Card title="Certificates">
        <div id="certs-card" hx-get="/system/certs" hx-trigger="load" hx-swap="innerHTML">
          <span class="muted">Asking Caddy… (<a href="/system/certs">open</a>)</span>
        </div>
      </Card>
      {h.series && h.series.t.length > 0 ? (
        <Card title="Last hour">
          <p class="small">CPU</p>
          <Sparkline values={h.series.cpuPct} max={100} wide label="Host CPU over the last hour" />
          <p class="small">Memory</p>
          <Sparkline values={h.series.memoryPct} max={100} wide kind="mem" label="Host memory over the last hour" />
        </Card>
      ) : null}
      <Card title="Alerts">
        {p.alerts.length === 0 ? <p class="muted" id="no-alerts">No alerts.</p> : (
          <table class="stack" id="alerts">
            <thead><tr><th>Alert</th><th>App</th><th>Since</th><th>Resolved</th></tr></thead>
            <tbody>
              {p.alerts.map((a) => (
                <tr>
                  <td data-label="Alert">{a.message}</td>
                  <td data-label="App">{a.app ? <a href={`/apps/${a.app}`}>{a.app}</a> : '—'}</td>
                  <td data-label="Since"><Time iso={a.startedAt} /></td>
                  <td data-label="Resolved">{a.resolvedAt ? <Time iso={a.resolvedAt} /> : <b>open</b>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <p class="small muted">Data dir: <code>{p.dataDir}</code></p>
    </Layout>
  );
}
