import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { AlertConfig } from '../config.js';
import { openDatabase, type OpenedDb } from '../db/open.js';
import { recordRelease } from '../deploy/releases.js';
import { createLogger } from '../log.js';
import type { HostSample } from '../metrics/sampler.js';
import { AlertMonitor } from './monitor.js';
import { webhookNotifier, webhookRequest } from './notifier.js';
import type { Alert } from './incidents.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-alerts-'));
const log = createLogger('silent', new Writable({ write(_c, _e, cb) { cb(); } }));
const NOW = '2026-01-01T00:00:00.000Z';

interface Received { headers: Record<string, string | string[] | undefined>; body: string }

const config = (over: Partial<AlertConfig> = {}): AlertConfig => ({
  webhook: 'http://unused', format: 'json', diskPct: 80, memoryPct: 85, healthAfterSec: 120, checkIntervalSec: 3600, crashRestarts: 3, ...over,
});

const host = (diskPct: number, memoryPct = 10): HostSample => ({
  t: 0, cpuPct: 1, cpuCount: 2, memoryUsed: memoryPct, memoryTotal: 100, memoryPct, diskUsed: diskPct, diskTotal: 100, diskPct,
});

describe('AlertMonitor with a webhook receiver on loopback', { timeout: 60_000 }, () => {
  let opened: OpenedDb;
  let server: Server;
  let url: string;
  const received: Received[] = [];

  before(async () => {
    opened = await openDatabase(join(dir, 'hiy.db'));
    await opened.db.insertInto('apps').values({ name: 'web1', repo_url: null, slot_index: 0, current_release_id: null, created_at: NOW, updated_at: NOW }).execute();
    await recordRelease(opened.db, { app: 'web1', deploy_id: 1, sha: 'a'.repeat(40), image: 'x', slot: 'a' });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { received.push({ headers: req.headers, body }); res.end('ok'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  after(async () => {
    await opened.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an app not answering for the whole duration raises one alert, and one resolved when it answers', async () => {
    let clock = 0;
    let answering = false;
    const probes: number[] = [];
    const m = new AlertMonitor({
      db: opened.db, log, config: config({ healthAfterSec: 120 }), slotPortBase: 20000,
      notifier: webhookNotifier('json', url, []),
      probe: async (port) => { probes.push(port); return answering ? 200 : undefined; },
      containers: () => [],
      now: () => clock,
    });
    for (clock = 0; clock <= 300_000; clock += 15_000) await m.checkApps();
    answering = true;
    for (; clock <= 400_000; clock += 15_000) await m.checkApps();
    await m.stop();
    assert.ok(probes.every((p) => p === 20000), 'probes the serving slot (a) of the app');
    const bodies = received.map((r) => JSON.parse(r.body) as { event: string; alert: Alert; text: string });
    assert.deepEqual(bodies.map((b) => b.event), ['alert', 'resolved']);
    assert.equal(bodies[0]!.alert.kind, 'health');
    assert.match(bodies[0]!.text, /web1 has not answered its health check \(GET \/: no answer\) for 120 s/);
    const rows = await opened.db.selectFrom('alerts').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.resolved_at && rows[0]!.notified_at && rows[0]!.resolved_notified_at);
  });

  it('disk over the limit opens once; an incident left open is resolved by the next run', async () => {
    received.length = 0;
    const mk = () => new AlertMonitor({
      db: opened.db, log, config: config(), slotPortBase: 20000, notifier: webhookNotifier('json', url, []),
      probe: async () => 200, containers: () => [],
    });
    const first = mk();
    for (const pct of [50, 81, 90, 85]) first.onHostSample(host(pct));
    await first.stop();
    const second = mk();
    second.onHostSample(host(85));
    second.onHostSample(host(60));
    await second.stop();
    assert.deepEqual(received.map((r) => (JSON.parse(r.body) as { event: string }).event), ['alert', 'resolved']);
    assert.match((JSON.parse(received[0]!.body) as { text: string }).text, /disk 81 % full/);
  });

  it('a Swarm node not ready for the whole duration is an incident; unknown rounds change nothing; removal resolves it', async () => {
    received.length = 0;
    let clock = 0;
    let nodes: { name: string; ok: boolean; detail: string }[] | undefined = [{ name: 'pi1', ok: true, detail: 'ready' }, { name: 'pi2', ok: false, detail: 'down' }];
    const m = new AlertMonitor({
      db: opened.db, log, config: config({ healthAfterSec: 60 }), slotPortBase: 20000, notifier: webhookNotifier('json', url, []),
      probe: async () => 200, containers: () => [], nodes: async () => nodes, now: () => clock,
    });
    for (clock = 0; clock < 60_000; clock += 15_000) await m.checkApps();
    assert.equal((await opened.db.selectFrom('alerts').selectAll().where('key', '=', 'node:pi2').execute()).length, 0, 'not before the threshold');
    for (; clock <= 90_000; clock += 15_000) await m.checkApps();
    nodes = undefined;
    for (; clock <= 150_000; clock += 15_000) await m.checkApps();
    nodes = [{ name: 'pi1', ok: true, detail: 'ready' }];
    await m.checkApps();
    await m.stop();
    const bodies = received.map((r) => JSON.parse(r.body) as { event: string; alert: Alert; text: string });
    assert.deepEqual(bodies.map((b) => [b.event, b.alert.key]), [['alert', 'node:pi2'], ['resolved', 'node:pi2']]);
    assert.equal(bodies[0]!.alert.kind, 'node');
    assert.match(bodies[0]!.text, /node pi2 is down \(for 60 s\)/);
    assert.match(bodies[1]!.text, /node pi2 was removed/);
  });

  it('a failing webhook is recorded on the alert, not retried forever', async () => {
    const m = new AlertMonitor({
      db: opened.db, log, config: config(), slotPortBase: 20000, notifier: webhookNotifier('json', 'http://127.0.0.1:1/none', []),
      probe: async () => 200, containers: () => [],
    });
    m.onHostSample(host(10, 99));
    await m.stop();
    const row = await opened.db.selectFrom('alerts').selectAll().where('key', '=', 'memory').executeTakeFirstOrThrow();
    assert.equal(row.notified_at, null);
    assert.match(row.notify_error ?? '', /webhook delivery failed: .*ECONNREFUSED/);
  });
});

describe('notification formats', () => {
  const a = { id: 1, key: 'health:blog', kind: 'health', app: 'blog', message: 'blog is down', started_at: NOW, resolved_at: null, resolved_message: null, notified_at: null, resolved_notified_at: null, notify_error: null } as Alert;

  it('ntfy: text body and ntfy headers', () => {
    const r = webhookRequest('ntfy', 'https://ntfy.sh/mytopic', 'alert', a);
    assert.equal(r.body, '[hiy] ALERT: blog is down');
    assert.equal(r.headers.title, 'hiy alert: health (blog)');
    assert.equal(r.headers.priority, 'high');
  });

  it('telegram: chat id from the URL into the sendMessage body', () => {
    const r = webhookRequest('telegram', 'https://api.telegram.org/bot123:abc/sendMessage?chat_id=-1001', 'resolved', { ...a, resolved_message: 'blog is back' });
    assert.deepEqual(JSON.parse(r.body), { chat_id: '-1001', text: '[hiy] RESOLVED: blog is back' });
  });
});
