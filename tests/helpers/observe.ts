/**
 * Helpers for the logs/metrics/alerts tests: app containers run straight through hiy's own
 * runtime (with its labels, so capture sees them as the app's), an SSE reader with a real timer,
 * and polling with a deadline.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { slotPorts } from '../../src/slots.js';
import { insertDeploy } from '../../src/deploy/records.js';
import { recordRelease } from '../../src/deploy/releases.js';
import { createLogger } from '../../src/log.js';
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js';
import type { ContainerInfo } from '../../src/runtime/runtime.js';
import type { InProcessHiy } from '../../harness/server.js';
import type { TestRun } from '../../harness/docker.js';
import { BUSYBOX_IMAGE } from '../../harness/images.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Records a deploy + release for `app` and runs `cmd` in a busybox container as that release's
 * web process on slot a (published on the slot's port when `publish`). It is started through a
 * runtime of the server's instance that also carries the test's labels, so the server sees it as
 * its own and the test's cleanup finds it.
 */
export async function runRelease(h: InProcessHiy, run: TestRun, app: string, cmd: string[], opts: { publish?: boolean; cpus?: number; port?: number } = {}): Promise<ContainerInfo> {
  const s = h.running.services;
  const row = await s.db.selectFrom('apps').selectAll().where('name', '=', app).executeTakeFirstOrThrow();
  const deployId = await insertDeploy(s.db, { app, sha: 'f'.repeat(40), triggered_by: 'manual' });
  await s.db.updateTable('deploys').set({ status: 'success' }).where('id', '=', deployId).execute();
  const runtime = createDockerRuntime(createLogger('silent'), { instance: s.instanceId, labels: run.labels });
  const info = await runtime.run({
    name: `hiy-${app}-${randomBytes(4).toString('hex')}`,
    image: BUSYBOX_IMAGE,
    app,
    env: { PORT: String(opts.port ?? 8080) },
    containerPort: opts.port ?? 8080,
    ...(opts.publish ? { hostPort: slotPorts(row, s.config.slotPortBase)[0] } : {}),
    memoryMb: 64,
    cpus: opts.cpus ?? 0.5,
    process: 'web',
    deployId,
    slot: 'a',
    cmd,
  });
  await recordRelease(s.db, { app, deploy_id: deployId, sha: 'f'.repeat(40), image: BUSYBOX_IMAGE, slot: 'a' });
  return info;
}

export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
  at: number;
}

/**
 * GETs an SSE endpoint and collects events until `until(events)` holds or `timeoutMs` passes
 * (a ref'd timer; the connection is closed either way).
 */
export function collectSse(url: string, token: string, opts: { headers?: Record<string, string>; until(events: SseMessage[]): boolean; timeoutMs?: number }): Promise<SseMessage[]> {
  return new Promise((resolve, reject) => {
    const events: SseMessage[] = [];
    let buf = '';
    let cur: { event: string; id: string | undefined; data: string[] } = { event: 'message', id: undefined, data: [] };
    const req = request(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...opts.headers } }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => { clearTimeout(timer); reject(new Error(`SSE ${url}: HTTP ${res.statusCode} ${body}`)); });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (cur.data.length) events.push({ event: cur.event, id: cur.id, data: cur.data.join('\n'), at: Date.now() });
            cur = { event: 'message', id: undefined, data: [] };
            continue;
          }
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = line.slice(0, i);
          const value = line.slice(i + 1).replace(/^ /, '');
          if (field === 'data') cur.data.push(value);
          else if (field === 'event') cur.event = value;
          else if (field === 'id') cur.id = value;
        }
        if (opts.until(events)) finish();
      });
      res.on('end', finish);
    });
    const timer = setTimeout(finish, opts.timeoutMs ?? 30_000);
    function finish(): void {
      clearTimeout(timer);
      req.destroy();
      resolve(events);
    }
    req.on('error', (err) => { clearTimeout(timer); if (events.length) resolve(events); else reject(err); });
    req.end();
  });
}
