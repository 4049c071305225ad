import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type OpenedDb } from '../src/db/open.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { ObservedMetrics } from './system-info.js';

const dir = mkdtempSync(join(tmpdir(), 'hiy-ui-metrics-'));
let opened: OpenedDb;
before(async () => {
  opened = await openDatabase(join(dir, 'hiy.db'));
  for (const [i, name] of ['blog', 'shop', 'idle'].entries()) {
    await opened.db.insertInto('apps').values({ name, repo_url: null, slot_index: i, current_release_id: null, created_at: 'x', updated_at: 'x' }).execute();
  }
});
after(async () => { await opened.close(); rmSync(dir, { recursive: true, force: true }); });

const noDocker = async (): Promise<Runtime> => { throw new Error('no engine'); };

describe('the dashboard\'s metrics view', { timeout: 30_000 }, () => {
  it('draws the apps list from one-minute points plus the raw points not folded yet', async () => {
    const now = Math.floor(Date.now() / 1000);
    const minute = Math.floor(now / 60) * 60;
    const rows = [];
    // 50 folded minutes (cpu 10), then the raw points after the last one (cpu 50), and one raw
    // point that is already folded (must not count twice).
    for (let m = 50; m >= 1; m--) rows.push({ app: 'blog', res: 60, t: minute - m * 60, cpu_pct: 10, memory_bytes: 100 });
    rows.push({ app: 'blog', res: 0, t: minute - 90, cpu_pct: 99, memory_bytes: 999 });
    rows.push({ app: 'blog', res: 0, t: minute, cpu_pct: 50, memory_bytes: 500 });
    rows.push({ app: 'blog', res: 0, t: minute + 5, cpu_pct: 50, memory_bytes: 500 });
    rows.push({ app: 'shop', res: 0, t: minute + 5, cpu_pct: 7, memory_bytes: 70 });
    await opened.db.insertInto('app_metrics').values(rows).execute();
    const m = new ObservedMetrics(opened.db, dir, undefined, noDocker);
    const lines = await m.appSparklines(['blog', 'shop', 'idle'], 1000);
    const blog = lines.get('blog')!;
    assert.equal(blog.cpuPct.length, 52);
    assert.ok(!blog.cpuPct.includes(99), 'a folded raw point is not read again');
    assert.deepEqual(blog.cpuPct.slice(-3), [10, 50, 50]);
    assert.deepEqual(lines.get('shop')!.cpuPct, [7]);
    assert.equal(lines.get('idle'), undefined, 'no samples, no line');
    assert.equal((await m.appSparklines(['blog'], 10)).get('blog')!.cpuPct.length, 10);
  });

  it('lists open alerts before resolved ones, and says null when Docker cannot tell its size', async () => {
    const base = { app: null, kind: 'disk' as const, resolved_message: null, notified_at: null, resolved_notified_at: null, notify_error: null };
    await opened.db.insertInto('alerts').values([
      { ...base, key: 'disk', message: 'old, resolved', started_at: '2026-01-01T00:00:00Z', resolved_at: '2026-01-01T01:00:00Z' },
      { ...base, key: 'memory', kind: 'memory', message: 'memory above 85 %', started_at: '2025-12-31T00:00:00Z', resolved_at: null },
    ]).execute();
    const m = new ObservedMetrics(opened.db, dir, undefined, noDocker);
    const alerts = await m.alerts(10);
    assert.deepEqual(alerts.map((a) => a.message), ['memory above 85 %', 'old, resolved']);
    assert.equal(await m.dockerBytes(), null);
    const host = await m.host();
    assert.ok(host.memoryTotal > 0 && host.diskTotal > 0 && host.uptimeSec > 0);
    assert.equal(host.cpuPct, null, 'no sampler sample yet: no CPU figure rather than a made-up one');
  });
});
