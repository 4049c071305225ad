import type { RunView } from '../../src/contract.js';
import type { StatusView } from '../../src/apps/status.js';
import { AppHeader } from './app-header.js';
import { Card } from './components.js';
import { Layout } from './layout.js';
import { RunsTable } from './runs.js';
import type { PageCtx } from './types.js';

export interface ConsolePageProps {
  ctx: PageCtx;
  app: { name: string; url: string; domain: string };
  status: StatusView;
  /** The current release's version, or null before the first deploy. */
  release: number | null;
  runs: RunView[];
}

/** The Console tab: a command in a terminal, in a one-off container of the current release. */
export function ConsolePage(p: ConsolePageProps) {
  const name = p.app.name;
  return (
    <Layout ctx={p.ctx}>
      <AppHeader name={name} url={p.app.url} domain={p.app.domain} status={p.status} tab="console" />
      <Card title="Console">
        {p.release === null ? <p class="muted">{name} has no release yet: deploy it first, then a console runs in its image.</p> : (
          <div class="console" data-console="" data-socket={`/apps/${name}/console/socket`} data-csrf={p.ctx.csrf}>
            <form class="row">
              <label for="console-command">Command</label>
              <input id="console-command" name="command" value="sh" autocomplete="off" spellcheck={false} class="mono" />
              <button type="submit">Start</button>
            </form>
            <p class="console-status small muted" role="status" aria-live="polite">
              Runs in a new container of release v{p.release} with the app's env vars, limits and volume; the container is removed when the command ends or this page closes.
            </p>
            <div class="console-screen" aria-label={`Terminal of ${name}`}></div>
          </div>
        )}
      </Card>
      <Card title="Recent runs and console sessions">
        {p.runs.length === 0 ? <p class="muted" id="runs-empty">No one-off runs yet.</p> : <RunsTable runs={p.runs} id="runs" />}
      </Card>
    </Layout>
  );
}
