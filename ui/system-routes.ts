import type { Hono } from 'hono';
import { listApps } from '../src/apps/repo.js';
import { listNodes } from '../src/nodes/service.js';
import { CertsTable } from './pages/certs.js';
import { NodesTable } from './pages/nodes.js';
import { SystemPage } from './pages/system.js';
import { bytes } from './format.js';
import { pageCtx, sendPage, type Ui, type UiEnv } from './ui.js';

/** The host: CPU, memory, disk and Docker's share of it, uptime, alerts. */
export function systemRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/system', async (c) => {
    const [host, alerts, apps] = await Promise.all([ui.metrics.host(), ui.metrics.alerts(20).catch(() => []), listApps(ui.s.db)]);
    return sendPage(c, SystemPage({ ctx: pageCtx(ui, c, 'System', 'system'), host, alerts, dataDir: ui.s.config.dataDir, appCount: apps.length }));
  });

  // One TLS handshake per routed host: shown once the page is there.
  app.get('/system/certs', async (c) => {
    c.header('cache-control', 'no-store');
    try {
      return c.html(CertsTable({ listing: await ui.s.certificates.list() }) as unknown as string);
    } catch (err) {
      ui.s.log.warn({ err }, 'listing certificates failed');
      return c.html('<span class="muted">Caddy did not answer.</span>');
    }
  });

  // The engine's nodes (one without Swarm): shown once the page is there.
  app.get('/system/nodes', async (c) => {
    c.header('cache-control', 'no-store');
    try {
      return c.html(NodesTable({ answer: await listNodes(ui.s) }) as unknown as string);
    } catch (err) {
      ui.s.log.warn({ err }, 'listing nodes failed');
      return c.html('<span class="muted">Docker did not answer.</span>');
    }
  });

  // `docker system df` takes a while: the page asks for it after it has shown.
  app.get('/system/docker', async (c) => {
    const [docker, host] = await Promise.all([ui.metrics.dockerBytes(), ui.metrics.host()]);
    c.header('cache-control', 'no-store');
    if (docker === null) return c.html('<span class="muted">Docker did not answer.</span>');
    const share = host.diskTotal > 0 ? ` (${((100 * docker) / host.diskTotal).toFixed(1)} % of the disk)` : '';
    return c.html(`<b>${bytes(docker)}</b> in images, containers, volumes and build cache${share}`);
  });
}
