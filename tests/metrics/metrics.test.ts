import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { cleanupByLabel, ensureDocker, testRun } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { runRelease, sleep, waitFor } from '../helpers/observe.js';

const suffix = randomBytes(3).toString('hex');
const BUSY = `busy-${suffix}`;
const IDLE = `idle-${suffix}`;

interface Metrics { current: { cpu_pct: number; memory_bytes: number } | null; series: { t: number[]; cpu_pct: number[]; memory_bytes: number[] }; limits: { cpu_pct: number } }

describe('per-app metrics from cgroup files and host figures (real containers)', { timeout: 180_000 }, () => {
  const run = testRun();
  let h: InProcessHiy;
  let api: ReturnType<typeof apiClient>;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    h = await startInProcess({ env: { HIY_METRICS_INTERVAL: '1' } });
    api = apiClient(h);
    for (const name of [BUSY, IDLE]) assert.equal((await api('POST', '/apps', { name, cpus: 0.5 })).status, 201);
    await runRelease(h, run, BUSY, ['sh', '-c', 'while :; do :; done'], { cpus: 0.5 });
    await runRelease(h, run, IDLE, ['sleep', '3600'], { cpus: 0.5 });
  });

  after(async () => {
    await h?.stop();
    await cleanupByLabel(run.label);
    // The apps' networks carry hiy's labels, not the run's.
    for (const app of [BUSY, IDLE]) await cleanupByLabel(`hiy.app=${app}`);
  });

  test('a CPU-busy app shows busy and an idle one idle', async () => {
    // A few samples after both are watched: the first sample of a container has no CPU delta yet.
    await waitFor('samples of both apps', async () => {
      const [b, i] = [(await api('GET', `/apps/${BUSY}/metrics`)).body as Metrics, (await api('GET', `/apps/${IDLE}/metrics`)).body as Metrics];
      return b.series.t.length >= 4 && i.series.t.length >= 4;
    }, 60_000);
    await sleep(2000);
    const busy = (await api('GET', `/apps/${BUSY}/metrics?range=1h`)).body as Metrics;
    const idle = (await api('GET', `/apps/${IDLE}/metrics`)).body as Metrics;
    const recent = (m: Metrics) => m.series.cpu_pct.slice(-3);
    process.stdout.write(`# busy app CPU % (limit ${busy.limits.cpu_pct}): ${recent(busy).join(', ')}; idle app: ${recent(idle).join(', ')}\n`);
    assert.ok(Math.max(...recent(busy)) > 20, `busy app shows busy: ${recent(busy).join(', ')}`);
    assert.ok(Math.max(...recent(idle)) < 5, `idle app shows idle: ${recent(idle).join(', ')}`);
    assert.ok(busy.current && busy.current.memory_bytes > 0, 'memory is read');
    assert.equal(busy.series.t.length, busy.series.cpu_pct.length);
    assert.equal(busy.series.t.length, busy.series.memory_bytes.length);
    assert.ok(busy.series.t.every((t, i, a) => i === 0 || t >= a[i - 1]!), 'points are oldest first');
    assert.equal((await api('GET', `/apps/${BUSY}/metrics?range=7d`)).status, 400);
    assert.equal((await api('GET', `/apps/${BUSY}/metrics?range=24h`)).status, 200);
  });

  test('GET /system: host CPU, memory, disk, series and the apps', async () => {
    const sys = (await api('GET', '/system')).body;
    assert.ok(sys.host.cpu_count >= 1);
    assert.ok(sys.host.memory.total > sys.host.memory.used && sys.host.memory.used > 0);
    assert.ok(sys.host.disk.total > 0 && sys.host.disk.pct > 0 && sys.host.disk.pct <= 100);
    assert.equal(sys.host.disk.path, h.dataDir);
    assert.ok(sys.series.t.length >= 2 && sys.series.t.length === sys.series.memory_pct.length);
    assert.equal(sys.capturing_logs, true);
    const names = (sys.apps as { name: string }[]).map((a) => a.name);
    assert.ok(names.includes(BUSY) && names.includes(IDLE), names.join(','));
    assert.equal((await api('GET', '/system', undefined, { token: null })).status, 401);
  });
});
