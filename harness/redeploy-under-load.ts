import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { findRootCert, curlApp } from './app-http.js';
import { cleanupByLabel, ensureDocker } from './docker.js';
import { remoteUrl, WorkingCopy } from './git.js';
import { ensureBusyboxImage, ensureNodeImage, NODE_IMAGE } from './images.js';
import { startLoad, type LoadReport } from './load.js';
import { repoRoot } from './paths.js';
import { apiClient, startHiy, type HiyProcess } from './server.js';

export interface ScenarioOptions {
  deploys: number;
  rollbacks: number;
  keepAliveConnections: number;
  freshConnectionLoops: number;
  /**
   * The app: busybox httpd (default; it takes no keep-alive and its listen backlog is 9, so under
   * 20+ loops its own queue drops SYNs and requests wait 1 s for the retransmit) or a node server.
   */
  app?: 'busybox' | 'node';
  /** Seconds of load before the first push (a floor of request times with no deploy running). Default 1. */
  baselineS?: number;
  log?: (line: string) => void;
}

export interface ScenarioResult extends LoadReport {
  seconds: number;
  deploys: number;
  /** When each deploy's push (or rollback request) started and ended (epoch ms), in order. */
  deployTimes: { label: string; start: number; end: number }[];
}

/**
 * An app that dies the moment it gets SIGTERM (no graceful close, as many apps do): a node server
 * where /slow answers after 15 s, /echo names the method and the release, /host the container.
 * Before hiy drained releases, stopping the old one cut slow requests off, and POSTs that reached
 * a starting or stopping release failed (Caddy retries only GETs). (tests/e2e/zero-downtime used a
 * busybox httpd with CGIs before: now and then busybox answered a POST with headers and no body.)
 */
const NODE_SERVER_JS = `const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
process.on('SIGTERM', () => process.exit(0));
const release = () => fs.readFileSync('/www/index.html', 'utf8');
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const send = (text) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(text); };
    if (req.url === '/slow') return setTimeout(() => send('slow ' + release()), 15000);
    if (req.url === '/echo') return send(req.method + ' ' + release());
    if (req.url === '/host') return send(os.hostname());
    send(release());
  });
}).listen(Number(process.env.PORT));
`;

/** Turns the busybox fixture into the node server above (it serves the same www/index.html). */
export function useNodeServer(wc: WorkingCopy): void {
  wc.write('Dockerfile', [`FROM ${NODE_IMAGE}`, 'COPY www /www', 'COPY server.js /server.js', 'ENV PORT=8080', 'CMD ["node", "/server.js"]', ''].join('\n'));
  wc.write('server.js', NODE_SERVER_JS);
}

/**
 * Creates a busybox-style app (port 8080) and returns `push(body)`: write www/index.html, commit,
 * `git push` to hiy, assert it was accepted; resolves with the push output.
 */
export async function createIndexApp(hiy: HiyProcess, wc: WorkingCopy, app: string, drainS: number): Promise<(body: string) => Promise<string>> {
  const created = await apiClient(hiy)('POST', '/apps', { name: app, port: 8080, health_timeout_s: 30, drain_s: drainS });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return async (body) => {
    wc.write('www/index.html', body);
    await wc.commit(body);
    const r = await wc.push(remoteUrl(hiy.url, app, hiy.token));
    assert.equal(r.code, 0, r.stderr);
    return r.stderr;
  };
}

/**
 * A real hiy + Caddy + Docker: an app serving v0, then `deploys` git pushes (v1, v2, …) and
 * `rollbacks` rollbacks while GET loops run against it through Caddy over HTTPS.
 */
export async function redeployUnderLoad(o: ScenarioOptions): Promise<ScenarioResult> {
  const log = o.log ?? (() => {});
  await ensureDocker();
  await ensureBusyboxImage();
  if (o.app === 'node') await ensureNodeImage();
  const app = `zd-${randomBytes(3).toString('hex')}`;
  const hiy = await startHiy();
  const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  try {
    if (o.app === 'node') useNodeServer(wc);
    const api = apiClient(hiy);
    const push = await createIndexApp(hiy, wc, app, 3);
    await push('v0\n');
    assert.equal((await curlApp(hiy, app)).body, 'v0\n');
    const ca = findRootCert(hiy.dataDir)!;

    const load = startLoad({ host: `${app}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: ca, keepAliveConnections: o.keepAliveConnections, freshConnectionLoops: o.freshConnectionLoops });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, (o.baselineS ?? 1) * 1000));
    const deployTimes: ScenarioResult['deployTimes'] = [];
    for (let i = 1; i <= o.deploys; i++) {
      const start = Date.now();
      await push(`v${i}\n`);
      deployTimes.push({ label: `push v${i}`, start, end: Date.now() });
      log(`deployed v${i}`);
    }
    for (let i = 0; i < o.rollbacks; i++) {
      const start = Date.now();
      const rb = await api('POST', `/apps/${app}/rollback`, {});
      assert.equal(rb.status, 202, JSON.stringify(rb.body));
      for (;;) {
        const d = (await api('GET', `/apps/${app}/deploys/${rb.body.deploy.id}`)).body.deploy;
        if (d.status === 'success') break;
        assert.ok(d.status === 'queued' || d.status === 'building', `rollback ended ${d.status}: ${d.log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      deployTimes.push({ label: 'rollback', start, end: Date.now() });
      log('rolled back');
    }
    await new Promise((r) => setTimeout(r, 1000));
    const report = await load.stop();
    return { ...report, seconds: (Date.now() - t0) / 1000, deploys: o.deploys + o.rollbacks, deployTimes };
  } finally {
    await hiy.stop();
    wc.remove();
    await cleanupByLabel(`hiy.app=${app}`);
  }
}
