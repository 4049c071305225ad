import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { cleanupByLabel, docker, ensureDocker, testRun } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { runRelease, sleep, waitFor } from '../helpers/observe.js';

const suffix = randomBytes(3).toString('hex');
const WEB = `health-${suffix}`;
const CRASHY = `crashy-${suffix}`;

interface Hook { event: string; alert: { kind: string; app: string | null }; text: string }

describe('alerts on a local webhook receiver (real containers)', { timeout: 180_000 }, () => {
  const run = testRun();
  let h: InProcessHiy;
  let api: ReturnType<typeof apiClient>;
  let receiver: Server;
  const hooks: Hook[] = [];
  const of = (app: string) => hooks.filter((x) => x.alert.app === app);

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { hooks.push(JSON.parse(body) as Hook); res.end(); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    h = await startInProcess({ env: {
      HIY_ALERT_WEBHOOK: `http://127.0.0.1:${port}/hook`,
      HIY_ALERT_HEALTH_AFTER: '4',
      HIY_ALERT_CHECK_INTERVAL: '1',
      HIY_ALERT_CRASH_RESTARTS: '3',
    } });
    api = apiClient(h);
    for (const name of [WEB, CRASHY]) assert.equal((await api('POST', '/apps', { name, port: 8080 })).status, 201);
  });

  after(async () => {
    await h?.stop();
    receiver?.close();
    await cleanupByLabel(run.label);
    // The apps' networks carry hiy's labels, not the run's.
    for (const app of [WEB, CRASHY]) await cleanupByLabel(`hiy.app=${app}`);
  });

  test('an app that stops answering raises one alert, and one "resolved" when it answers again', async () => {
    const c = await runRelease(h, run, WEB, ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'], { publish: true });
    await sleep(6000);
    assert.equal(of(WEB).length, 0, 'a healthy app raises nothing');
    assert.equal((await docker(['pause', c.id])).code, 0);
    await waitFor('the alert', async () => of(WEB).length > 0, 60_000);
    await sleep(5000);
    assert.equal(of(WEB).length, 1, 'one alert per incident, however long it lasts');
    assert.equal((await docker(['unpause', c.id])).code, 0);
    await waitFor('the resolved message', async () => of(WEB).length > 1, 60_000);
    await sleep(4000);
    assert.deepEqual(of(WEB).map((x) => x.event), ['alert', 'resolved']);
    assert.equal(of(WEB)[0]!.alert.kind, 'health');
    assert.match(of(WEB)[0]!.text, new RegExp(`${WEB} has not answered its health check`));
    const listed = (await api('GET', '/alerts')).body;
    const mine = listed.alerts.filter((a: { app: string }) => a.app === WEB);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].open, false);
    assert.ok(mine[0].notified_at && mine[0].resolved_notified_at);
  });

  test('a crash loop raises one alert', async () => {
    await runRelease(h, run, CRASHY, ['sh', '-c', 'echo "crashing"; exit 1']);
    await waitFor('the crash-loop alert', async () => of(CRASHY).some((x) => x.alert.kind === 'crashloop'), 90_000, 500);
    await sleep(3000);
    assert.equal(of(CRASHY).filter((x) => x.alert.kind === 'crashloop').length, 1);
    const open = (await api('GET', '/alerts?open=true')).body.alerts as { kind: string; app: string }[];
    assert.ok(open.some((a) => a.kind === 'crashloop' && a.app === CRASHY));
    const logs = (await api('GET', `/apps/${CRASHY}/logs`)).body.lines as { text: string }[];
    assert.ok(logs.filter((l) => l.text === 'crashing').length >= 3, 'every run\'s output is captured');
  });
});
