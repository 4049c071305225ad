import type { AppView } from '../../src/contract.js';
import { Card } from './components.js';
import { CsrfField } from './layout.js';
import type { PageCtx } from './types.js';

/** Maintenance mode and ps:stop / ps:start from the app page (the API's /maintenance and /ps/stop|start). */
export function AppStateCard({ app, ctx }: { app: AppView; ctx: PageCtx }) {
  const stopped = app.stopped.length > 0;
  return (
    <Card title="Maintenance and processes">
      <div class="row">
        <form method="post" action={`/apps/${app.name}/maintenance`} class="inline" id="maintenance-form">
          <CsrfField token={ctx.csrf} />
          <input type="hidden" name="enabled" value={app.maintenance ? 'off' : 'on'} />
          <button type="submit" class="secondary" id="maintenance-toggle">{app.maintenance ? 'Turn maintenance off' : 'Turn maintenance on'}</button>
        </form>
        <form method="post" action={`/apps/${app.name}/ps/${stopped ? 'start' : 'stop'}`} class="inline" id="ps-form"
          data-confirm={stopped ? undefined : `Stop every process of ${app.name}? Its URL shows a "stopped" page until you start it again.`}>
          <CsrfField token={ctx.csrf} />
          <button type="submit" class="secondary" id="ps-toggle" disabled={app.current_release === null}>{stopped ? 'Start processes' : 'Stop processes'}</button>
        </form>
      </div>
      <p class="small muted" id="app-state">
        {app.maintenance ? 'Maintenance mode is on: the URL answers 503 with a maintenance page; the app keeps running. ' : ''}
        {stopped ? `Stopped: ${app.stopped.join(', ')}. A deploy or restart starts the app again. ` : ''}
        {!app.maintenance && !stopped ? 'Maintenance mode shows a 503 page instead of the app without stopping it; stopping keeps the app stopped across restarts of hiy.' : ''}
      </p>
    </Card>
  );
}
