import type { Hono } from 'hono';
import { getDeploy } from '../src/deploy/repo.js';
import { HiyError } from '../src/errors.js';
import { DeployPage } from './pages/deploy.js';
import { ansiToHtml, newAnsiState, renderLine } from './ansi.js';
import { appFromPath, appHead, statusOfApp } from './apps-data.js';
import { sessionStillValid } from './auth-routes.js';
import { sse } from './sse.js';
import { pageCtx, sendPage, type Ui, type UiEnv } from './ui.js';

function deployId(raw: string | undefined): number {
  if (!raw || !/^\d{1,12}$/.test(raw)) throw new HiyError('not_found', 'no such deploy');
  return Number(raw);
}

/** One deploy with its build log; the log of a running deploy streams live over SSE. */
export function deployRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/apps/:name/deploys/:id', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const [deploy, status] = await Promise.all([getDeploy(ui.s.db, row.name, deployId(c.req.param('id'))), statusOfApp(ui, row)]);
    const live = deploy.status === 'queued' || deploy.status === 'building';
    return sendPage(c, DeployPage({ ctx: pageCtx(ui, c, `${row.name} deploy #${deploy.id}`, 'apps'), app: appHead(ui, row), status, deploy, live }));
  });

  app.get('/apps/:name/deploys/:id/stream', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const id = deployId(c.req.param('id'));
    await getDeploy(ui.s.db, row.name, id);
    return sse(c, sessionStillValid(ui, c), async (send, closed) => {
      send('reset', '');
      let finished!: (status: string) => void;
      const end = new Promise<string>((r) => { finished = r; });
      // Listen for the end before looking for the output, so an end in between is not missed.
      const stopFinished = ui.live.onFinished((fid, result) => { if (fid === id) finished(result.ok ? 'success' : result.status); });
      const output = ui.live.output(id);
      if (!output) {
        stopFinished();
        const stored = await getDeploy(ui.s.db, row.name, id);
        for (const html of ansiToHtml(stored.log.replace(/\n$/, '')).split('\n')) send('line', html);
        send('end', stored.status);
        return;
      }
      const style = newAnsiState();
      const unsubscribe = output.subscribe((line) => send('line', renderLine(line, style)));
      try {
        const status = await Promise.race([end, closed.then(() => undefined)]);
        if (status) send('end', status);
      } finally {
        unsubscribe();
        stopFinished();
      }
    });
  });
}
