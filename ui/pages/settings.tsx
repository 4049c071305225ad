import type { AppView, PlacementView } from '../../src/contract.js';
import type { StatusView } from '../../src/apps/status.js';
import { AppHeader } from './app-header.js';
import { Card, Time } from './components.js';
import { CsrfField, Layout } from './layout.js';
import type { PageCtx } from './types.js';

export interface WebhookState {
  configured: boolean;
  payloadUrl: string;
  repoToken: boolean;
  githubSettingsUrl: string | null;
  /** GitHub events to tick: push, or registry_package for an app that deploys a GHCR image. */
  events: string[];
  /** An app whose source is an image: where signed notifications go, and what they must name. */
  registryUrl: string | null;
  image: string | null;
  /** Present only in the answer that made it: shown once. */
  newSecret?: string;
  deliveries: { id: number; event: string | null; ref: string | null; outcome: string; received_at: string; deploy_id: number | null }[];
}

export interface SettingsPageProps {
  ctx: PageCtx;
  app: AppView;
  /** Where the app runs on a Swarm, as the engine sees it (null: any node, spread). */
  placement: PlacementView | null;
  status: StatusView;
  webhook: WebhookState;
}

export function SettingsPage(p: SettingsPageProps) {
  const { app, ctx } = p;
  const base = `/apps/${app.name}`;
  return (
    <Layout ctx={ctx}>
      <AppHeader name={app.name} url={app.url} domain={app.domain} status={p.status} tab="settings" />
      <Card title="App">
        <table class="kv">
          <tbody>
            <tr><th scope="row">Port (PORT)</th><td class="mono">{app.port}</td></tr>
            <tr><th scope="row">Memory limit</th><td class="mono">{app.memory_mb} MB</td></tr>
            <tr><th scope="row">CPU limit</th><td class="mono">{app.cpus}</td></tr>
            <tr><th scope="row">Health check</th><td class="mono">{app.health_path} within {app.health_timeout_s} s</td></tr>
            <tr><th scope="row">Drain</th><td class="mono">{app.drain_s} s</td></tr>
            <tr><th scope="row">Node labels</th><td class="mono" id="placement-labels">{Object.entries(app.node_labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'any node'}</td></tr>
            <tr><th scope="row">Spread</th><td class="mono">{app.spread ? 'on: new processes start on the node with the fewest of this app\'s' : 'off: Swarm chooses'}</td></tr>
          </tbody>
        </table>
        {p.placement ? <p class="small" id="placement-note">{p.placement.applies ? `Nodes that may run it: ${p.placement.matching_nodes.join(', ') || 'none'}.` : 'Placement has no effect here:'} {p.placement.note ?? ''}</p> : null}
        <p class="small muted">Change these with <code>hiy update {app.name} --port N --memory MB …</code>; they apply at the next deploy or restart (placement: <code>--node-label KEY=VALUE</code>, <code>--node-label-clear</code>, <code>--spread</code>/<code>--no-spread</code>, at once).</p>
      </Card>
      <Card title="Deploy from GitHub">
        <form method="post" action={`${base}/settings/repo`}>
          <CsrfField token={ctx.csrf} />
          <label for="repo-url">Repository (https URL; empty: deploy only by git push)</label>
          <input type="text" id="repo-url" name="repo_url" value={app.repo_url ?? ''} placeholder="https://github.com/you/app.git" autocomplete="off" />
          <label for="branch">Branch</label>
          <input type="text" id="branch" name="branch" value={app.branch} required autocomplete="off" />
          <p><button type="submit">Save repository</button></p>
        </form>
        <h2>Webhook</h2>
        <Webhook app={app.name} w={p.webhook} csrf={ctx.csrf} canMake={app.repo_url !== null || app.source !== 'git'} />
      </Card>
      <Card title="Danger zone" class="danger-zone">
        <form method="post" action={`${base}/destroy`} id="destroy">
          <CsrfField token={ctx.csrf} />
          <p>Destroying removes the app's containers, images, git repository, env vars and history. It cannot be undone.</p>
          <label for="confirm-name">Type <b>{app.name}</b> to confirm</label>
          <input type="text" id="confirm-name" name="confirm" autocomplete="off" spellcheck={false} data-confirm-match={app.name} required />
          <p><button type="submit" class="danger">Destroy {app.name}</button></p>
        </form>
      </Card>
    </Layout>
  );
}

function Webhook({ app, w, csrf, canMake }: { app: string; w: WebhookState; csrf: string | undefined; canMake: boolean }) {
  return (
    <>
      {w.newSecret ? (
        <div class="flash ok" role="status" id="webhook-secret">
          <p>New webhook secret (shown once; paste it into GitHub now):</p>
          <p class="secret"><b>{w.newSecret}</b></p>
        </div>
      ) : null}
      <p class="small">Add it on {w.githubSettingsUrl ? <a href={w.githubSettingsUrl} rel="noopener noreferrer" target="_blank">GitHub's webhook settings</a> : 'GitHub: Settings → Webhooks → Add webhook'} with:</p>
      <table class="kv">
        <tbody>
          <tr><th scope="row">Payload URL</th><td class="mono">{w.payloadUrl}</td></tr>
          <tr><th scope="row">Content type</th><td class="mono">application/json</td></tr>
          <tr><th scope="row">Secret</th><td>{w.configured ? 'set (shown only when made)' : 'not set yet'}</td></tr>
          <tr><th scope="row">Events</th><td>{w.events.length === 0 ? 'none from GitHub (the image is not on ghcr.io): use the registry notification below' : w.events.includes('push') ? 'Just the push event' : `Let me select: ${w.events.join(', ')}`}</td></tr>
          <tr><th scope="row">Repo token</th><td>{w.repoToken ? 'set (private repository)' : 'none (public repository)'}</td></tr>
        </tbody>
      </table>
      {w.registryUrl ? (
        <>
          <p class="small">Or notify hiy from CI after a push of {w.image ? <code>{w.image}</code> : 'the image'} (docs/image-deploys.md): POST JSON to</p>
          <table class="kv" id="registry-hook">
            <tbody>
              <tr><th scope="row">Notification URL</th><td class="mono">{w.registryUrl}</td></tr>
              <tr><th scope="row">Signature</th><td class="mono">X-Hiy-Signature-256: sha256=HMAC-SHA256(secret, body)</td></tr>
              <tr><th scope="row">Body</th><td class="mono">{'{"repository": …, "tag": …, "digest": "sha256:…", "timestamp": <unix seconds>}'}</td></tr>
            </tbody>
          </table>
        </>
      ) : null}
      {canMake ? (
        <form method="post" action={`/apps/${app}/webhook`} data-confirm={w.configured ? 'Make a new secret? GitHub deliveries fail until you paste it there.' : undefined}>
          <CsrfField token={csrf} />
          <input type="hidden" name="rotate" value={w.configured ? '1' : '0'} />
          <p><button type="submit" class="secondary">{w.configured ? 'Rotate secret' : 'Create secret'}</button></p>
        </form>
      ) : <p class="small muted">Set the repository (or an image source) first.</p>}
      {w.deliveries.length > 0 ? (
        <table class="stack" id="deliveries">
          <thead><tr><th>Received</th><th>Event</th><th>Ref</th><th>Outcome</th><th>Deploy</th></tr></thead>
          <tbody>
            {w.deliveries.map((d) => (
              <tr>
                <td data-label="Received"><Time iso={d.received_at} /></td>
                <td data-label="Event">{d.event ?? '—'}</td>
                <td data-label="Ref" class="mono">{d.ref ?? '—'}</td>
                <td data-label="Outcome">{d.outcome}</td>
                <td data-label="Deploy">{d.deploy_id ? <a href={`/apps/${app}/deploys/${d.deploy_id}`}>#{d.deploy_id}</a> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p class="small muted">No deliveries yet.</p>}
    </>
  );
}
