import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCaddyConfig, type CaddyConfigOptions } from './caddy-config.js';
import type { JsonObject } from './caddy-json.js';
import { runsWithoutNoticeRoutes, withoutNoticeRoutes } from './pre-notice.js';

const opts = (over: Partial<CaddyConfigOptions> = {}): CaddyConfigOptions => ({
  adminAddress: { socket: '/run/hiy/caddy/admin.sock' }, listenHost: '', httpPort: 80, httpsPort: 443, tls: 'internal',
  domain: 'pi.example', controlPlane: { host: '127.0.0.1', port: 3000 }, liveDir: '/run/hiy/live', slotPortBase: 20000, ...over,
});
const BASE: JsonObject = { logging: { logs: { default: { level: 'WARN' } } }, apps: { pki: { certificate_authorities: { local: { install_trust: false } } } } };

/** What an older hiy loaded, keys in Go's sorted order as Caddy answers GET /config/. */
const olderConfig = (config: JsonObject) => sorted(withoutNoticeRoutes(config)) as JsonObject;
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)]));
}

describe('pre-notice: route slots of a hiy before the notice routes', () => {
  const wanted = buildCaddyConfig(BASE, opts(), 16);

  it('recognises the older config, whatever its key order', () => {
    assert.equal(runsWithoutNoticeRoutes(olderConfig(wanted), wanted), true);
    assert.equal(JSON.stringify(wanted).includes('/notice-maintenance'), true, 'the generated config has notice routes');
    assert.equal(JSON.stringify(olderConfig(wanted)).includes('/notice-'), false, 'the older one has none');
  });

  it('is false for a config that has the notice routes already (loading it is no reload)', () => {
    assert.equal(runsWithoutNoticeRoutes(JSON.parse(JSON.stringify(wanted)), wanted), false);
  });

  it('is false when anything else differs: that must be loaded now', () => {
    for (const other of [
      buildCaddyConfig(BASE, opts(), 32), // more route slots
      buildCaddyConfig(BASE, opts({ trustedProxies: ['10.0.0.0/8'] }), 16),
      buildCaddyConfig(BASE, opts({ upstreamHosts: ['10.0.0.1', '10.0.0.2'] }), 16),
      buildCaddyConfig(BASE, opts({ httpsPort: 8443 }), 16),
      buildCaddyConfig({ ...BASE, logging: { logs: { default: { level: 'INFO' } } } }, opts(), 16),
    ]) assert.equal(runsWithoutNoticeRoutes(olderConfig(other), wanted), false);
  });

  it('is false without route slots (the per-app layout, old-layout.ts, or no config)', () => {
    const routes = (((olderConfig(wanted).apps as JsonObject).http as JsonObject).servers as JsonObject).hiy as JsonObject;
    const noSlots = olderConfig(wanted);
    ((((noSlots.apps as JsonObject).http as JsonObject).servers as JsonObject).hiy as JsonObject).routes = [(routes.routes as JsonObject[])[0]!];
    assert.equal(runsWithoutNoticeRoutes(noSlots, wanted), false);
    assert.equal(runsWithoutNoticeRoutes(undefined, wanted), false);
    assert.equal(runsWithoutNoticeRoutes({ admin: { listen: 'unix//run/hiy/caddy/admin.sock' } }, wanted), false);
  });
});
