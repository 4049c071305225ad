import type { AddonView, AppView, DeploySummary } from '../../src/contract.js';
import type { Release } from '../../src/deploy/releases.js';
import type { StatusView } from '../../src/apps/status.js';
import { bytes, duration, percent } from '../format.js';
import type { Series } from '../sources.js';
import { AppHeader } from './app-header.js';
import { Badge, Card, Sparkline, Time, shortSha } from './components.js';
import { CsrfField, Layout } from './layout.js';
import { AppStateCard } from './app-state.js';
import { NextSteps } from './new-app.js';
import type { PageCtx } from './types.js';

export interface AppPageProps {
  ctx: PageCtx;
  app: AppView;
  status: StatusView;
  deploys: DeploySummary[];
  releases: Release[];
  currentVersion: number | null;
  series: Series | undefined;
  /** Add-ons attached to the app. */
  addons: AddonView[];
}

export function AppPage(p: AppPageProps) {
  const { app, ctx } = p;
  return (
    <Layout ctx={ctx}>
      <AppHeader name={app.name} url={app.url} domain={app.domain} status={p.status} tab="overview" />
      <div class="grid">
        <Card title="Actions">
          <div class="row">
            <form method="post" action={`/apps/${app.name}/deploy`} class="inline">
              <CsrfField token={ctx.csrf} />
              <button type="submit">Deploy {following(app)}</button>
            </form>
            <form method="post" action={`/apps/${app.name}/restart`} class="inline" data-confirm={`Restart ${app.name}? The new container takes over once it answers.`}>
              <CsrfField token={ctx.csrf} />
              <button type="submit" class="secondary" disabled={p.currentVersion === null}>Restart</button>
            </form>
          </div>
          <p class="small muted">{app.source === 'git'
            ? <>Deploy builds the head of <code>{app.branch}</code>{app.repo_url ? <> from <code>{app.repo_url}</code></> : null}</>
            : <>Deploy pulls <code>{following(app)}</code> from its registry</>}; restart starts the current release again.</p>
          <form method="post" action={`/apps/${app.name}/deploy-image`} id="deploy-image">
            <CsrfField token={ctx.csrf} />
            <label for="image-ref">Deploy an image (tag or digest; private registries need <code>hiy registry:login</code>)</label>
            <div class="row">
              <input type="text" id="image-ref" name="image" required autocomplete="off" spellcheck={false} placeholder="ghcr.io/you/app:v2" />
              <button type="submit" class="secondary">Deploy image</button>
            </div>
          </form>
        </Card>
        <Card title="Current release">
          {app.current_release ? (
            <p id="current-release"><b>v{app.current_release.version}</b> · {app.current_release.image_ref ? <><span class="mono" title={app.current_release.image_ref}>{app.current_release.image_ref.replace(/@sha256:.*$/, '')}</span> · </> : null}<span class="mono" title={app.current_release.sha}>{shortSha(app.current_release.sha)}</span> · <Time iso={app.current_release.created_at} /></p>
          ) : <p class="muted" id="current-release">Not deployed yet: {app.source === 'git' ? <code>git push hiy main</code> : <>deploy <code>{following(app)}</code></>}</p>}
          <p class="small" id="app-source">Source: {app.source === 'git' ? 'git' : <><code>{app.source}</code>, following <code>{app.image_tag}</code></>}</p>
          {app.source === 'git' ? <p class="small"><label for="git-remote">Git remote</label><input type="text" id="git-remote" readonly value={app.git_remote} /></p> : null}
        </Card>
        <Card title="Resources (last hour)">
          <Resources series={p.series} name={app.name} memoryMb={app.memory_mb} />
        </Card>
      </div>
      {app.current_release === null ? <NextSteps app={app.name} gitRemote={app.git_remote} branch={app.branch} repoUrl={app.repo_url} /> : null}
      <AppStateCard app={app} ctx={ctx} />
      <Card title="Add-ons">
        <AddonsTable app={app.name} addons={p.addons} />
      </Card>
      <Card title="Deploys">
        <DeploysTable app={app.name} deploys={p.deploys} />
      </Card>
      <Card title="Releases">
        <ReleasesTable app={app.name} releases={p.releases} current={p.currentVersion} csrf={ctx.csrf} />
      </Card>
    </Layout>
  );
}

function Resources({ series, name, memoryMb }: { series: Series | undefined; name: string; memoryMb: number }) {
  if (!series || series.t.length === 0) return <p class="muted small">No samples yet: resource use appears here once metrics are collected.</p>;
  const cpuNow = series.cpuPct[series.cpuPct.length - 1];
  const memNow = series.memoryBytes[series.memoryBytes.length - 1];
  return (
    <>
      <p class="small">CPU: {percent(cpuNow)} now, peak {percent(Math.max(...series.cpuPct))}</p>
      <Sparkline values={series.cpuPct} max={100} wide label={`CPU of ${name} over the last hour`} />
      <p class="small">Memory: {bytes(memNow)} of {memoryMb} MB, peak {bytes(Math.max(...series.memoryBytes))}</p>
      <Sparkline values={series.memoryBytes} max={memoryMb * 1024 * 1024} wide kind="mem" label={`Memory of ${name} over the last hour`} />
    </>
  );
}

export function DeploysTable({ app, deploys }: { app: string; deploys: DeploySummary[] }) {
  if (deploys.length === 0) return <p class="muted">No deploys yet.</p>;
  return (
    <table class="stack" id="deploys">
      <thead><tr><th>Deploy</th><th>Status</th><th>Commit / digest</th><th>Triggered by</th><th>Started</th><th>Duration</th></tr></thead>
      <tbody>
        {deploys.map((d) => (
          <tr data-deploy={d.id}>
            <td data-label="Deploy"><a href={`/apps/${app}/deploys/${d.id}`}>#{d.id} log</a></td>
            <td data-label="Status"><Badge status={d.status} /></td>
            <td data-label="Commit / digest" class="mono" title={d.image_ref ?? d.sha}>{d.sha ? shortSha(d.sha) : d.image_ref}</td>
            <td data-label="Triggered by">{d.triggered_by}</td>
            <td data-label="Started"><Time iso={d.started_at ?? d.created_at} /></td>
            <td data-label="Duration">{duration(d.started_at, d.finished_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AddonsTable({ app, addons }: { app: string; addons: AddonView[] }) {
  if (addons.length === 0) {
    return <p class="muted" id="addons-empty">No add-ons. A Postgres or Redis server for {app}: <code>hiy addons:create {app} postgres</code> (<code>redis</code>).</p>;
  }
  return (
    <table class="stack" id="addons">
      <thead><tr><th>Add-on</th><th>Status</th><th>Version</th><th>Size</th><th>Attached as</th><th></th></tr></thead>
      <tbody>
        {addons.map((a) => (
          <tr data-addon={a.name}>
            <td data-label="Add-on"><b>{a.name}</b> <span class="muted small">{a.kind}</span></td>
            <td data-label="Status"><Badge status={a.status} /></td>
            <td data-label="Version">{a.version ?? '—'}</td>
            <td data-label="Size">{a.disk_bytes === null ? '—' : bytes(a.disk_bytes)}</td>
            <td data-label="Attached as" class="mono">{a.attachments.find((x) => x.app === app)?.var ?? '—'}</td>
            <td><a href={`/addons/${a.name}/dump`} download aria-label={`Download a dump of ${a.name}`}>Download dump</a></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** hiy/<app>:<sha> shown as <sha7>; any other tag as it is. */
const shortImage = (image: string): string => image.replace(/^hiy\/[^:]+:([0-9a-f]{7})[0-9a-f]*$/, '$1');

/** What Deploy deploys: the branch, or the image tag the app follows. */
const following = (app: AppView): string => (app.source === 'git' ? app.branch : `${app.source.slice('image:'.length)}:${app.image_tag ?? 'latest'}`);

function ReleasesTable({ app, releases, current, csrf }: { app: string; releases: Release[]; current: number | null; csrf: string | undefined }) {
  if (releases.length === 0) return <p class="muted">No releases yet.</p>;
  return (
    <table class="stack" id="releases">
      <thead><tr><th>Release</th><th>Commit / digest</th><th>Made</th><th>Image</th><th></th></tr></thead>
      <tbody>
        {releases.map((r) => (
          <tr data-release={r.version}>
            <td data-label="Release"><b>v{r.version}</b></td>
            <td data-label="Commit / digest" class="mono" title={r.sha}>{shortSha(r.sha)}</td>
            <td data-label="Made"><Time iso={r.created_at} /></td>
            <td data-label="Image" class="mono small" title={r.image_ref ?? r.image}>{r.image_ref ? r.image_ref.replace(/@sha256:.*$/, '@…') : shortImage(r.image)}</td>
            <td>
              {r.version === current ? <Badge status="running" label="current" /> : (
                <form method="post" action={`/apps/${app}/rollback`} class="inline" data-confirm={`Roll ${app} back to v${r.version}? It goes live once it answers.`}>
                  <CsrfField token={csrf} />
                  <input type="hidden" name="version" value={String(r.version)} />
                  <button type="submit" class="secondary" aria-label={`Roll back to v${r.version}`}>Roll back to v{r.version}</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
