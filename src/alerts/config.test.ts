import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config.js';

const base = { HOME: '/home/pi' };
const err = (env: Record<string, string>) => { try { loadConfig({ ...base, ...env }); return ''; } catch (e) { return (e as Error).message; } };

describe('logs, metrics and alert settings', () => {
  it('have defaults', () => {
    const c = loadConfig(base);
    assert.equal(c.logLines, 10_000);
    assert.equal(c.metricsIntervalSec, 10);
    assert.deepEqual(c.alerts, { webhook: undefined, format: 'json', diskPct: 80, memoryPct: 85, healthAfterSec: 120, checkIntervalSec: 15, crashRestarts: 3 });
  });

  it('read every variable', () => {
    const c = loadConfig({ ...base, HIY_LOG_LINES: '500', HIY_METRICS_INTERVAL: '5', HIY_ALERT_WEBHOOK: 'https://ntfy.sh/pi', HIY_ALERT_FORMAT: 'ntfy',
      HIY_ALERT_DISK_PCT: '90', HIY_ALERT_MEMORY_PCT: '95', HIY_ALERT_HEALTH_AFTER: '30', HIY_ALERT_CHECK_INTERVAL: '5', HIY_ALERT_CRASH_RESTARTS: '5' });
    assert.equal(c.logLines, 500);
    assert.deepEqual(c.alerts, { webhook: 'https://ntfy.sh/pi', format: 'ntfy', diskPct: 90, memoryPct: 95, healthAfterSec: 30, checkIntervalSec: 5, crashRestarts: 5 });
  });

  it('refuse bad values naming the variable', () => {
    assert.match(err({ HIY_LOG_LINES: '5' }), /HIY_LOG_LINES: 5 is out of range/);
    assert.match(err({ HIY_ALERT_WEBHOOK: 'ftp://x' }), /HIY_ALERT_WEBHOOK: must be an http/);
    assert.match(err({ HIY_ALERT_WEBHOOK: 'not a url' }), /HIY_ALERT_WEBHOOK/);
    assert.match(err({ HIY_ALERT_FORMAT: 'slack' }), /HIY_ALERT_FORMAT: "slack" is not one of json, ntfy, telegram/);
    assert.match(err({ HIY_ALERT_DISK_PCT: '101' }), /HIY_ALERT_DISK_PCT/);
  });
});
