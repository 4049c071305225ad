import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appProxyHandler, buildCaddyConfig, bootConfig, deepMerge, parseLegacyAppRoutes, REDIRECT_SERVER_NAME, routeSlotsFor, routeSlotsOf, SERVER_NAME,
  slotRoute, type CaddyConfigOptions,
} from './caddy-config.js';
import type { Json, JsonObject } from './caddy-json.js';
import { coveredByWildcard } from './caddy-tls.js';

const opts = (over: Partial<CaddyConfigOptions> = {}): CaddyConfigOptions => ({
  adminAddress: { host: '127.0.0.1', port: 2999 },
  listenHost: '',
  httpPort: 8080,
  httpsPort: 8443,
  tls: 'internal',
  domain: 'pi.example',
  controlPlane: { host: '127.0.0.1', port: 3000 },
  liveDir: '/run/hiy/live',
  slotPortBase: 20000,
  ...over,
});
const BASE: JsonObject = { apps: { pki: { certificate_authorities: { local: { install_trust: false } } } } };

/** Walks a JSON value by keys and array indexes; fails the test on a wrong path. */
function at(value: Json | undefined, ...path: (string | number)[]): Json {
  let cur: Json | undefined = value;
  for (const key of path) {
    assert.ok(cur !== null && typeof cur === 'object', `no ${String(key)} in ${JSON.stringify(cur)}`);
    cur = Array.isArray(cur) ? cur[key as number] : (cur as JsonObject)[key as string];
  }
  assert.notEqual(cur, undefined, `nothing at ${path.join('.')}`);
  return cur as Json;
}

const ASK = 'http://127.0.0.1:3000/internal/tls-ask';

describe('caddy-config', () => {
  it('keeps the admin address, sets http/https ports and the routes in order', () => {
    const cfg = buildCaddyConfig(BASE, opts(), 16);
    assert.equal(at(cfg, 'admin', 'listen'), '127.0.0.1:2999');
    assert.equal(at(cfg, 'apps', 'http', 'http_port'), 8080);
    assert.equal(at(cfg, 'apps', 'http', 'https_port'), 8443);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'listen'), [':8443']);
    const ids = (at(server, 'routes') as JsonObject[]).map((r) => r['@id']);
    assert.deepEqual(ids, ['hiy-control-plane', ...Array.from({ length: 16 }, (_, i) => `hiy-slot-${i}`), 'hiy-fallback']);
    assert.deepEqual(at(server, 'routes', 0, 'match'), [{ host: ['hiy.pi.example'] }]);
    assert.equal(at(server, 'routes', 0, 'handle', 0, 'upstreams', 0, 'dial'), '127.0.0.1:3000');
    // The base file's parts survive the merge.
    assert.equal(at(cfg, 'apps', 'pki', 'certificate_authorities', 'local', 'install_trust'), false);
    assert.equal(routeSlotsOf(at(server, 'routes') as Json[]), 16);
    assert.equal(routeSlotsOf(undefined), 0);
  });

  it('has route slots in whole steps of 16, enough for the highest slot index', () => {
    assert.deepEqual([-1, 0, 15, 16, 40].map(routeSlotsFor), [16, 16, 16, 32, 48]);
  });

  it('matches a route slot by its host files, then one inner route per live marker proxying to exactly that slot\'s replicas', () => {
    const route = slotRoute(2, 20000, '/run/hiy/live');
    assert.equal(route['@id'], 'hiy-slot-2');
    assert.deepEqual(route.match, [{ file: { root: '/run/hiy/live/2/hosts', try_files: ['/{http.request.host}'] } }]);
    assert.equal(at(route, 'handle', 0, 'handler'), 'subroute');
    const all = at(route, 'handle', 0, 'routes') as JsonObject[];
    // Notices first (maintenance, stopped): a 503 page of Caddy's own, whatever the markers say.
    assert.deepEqual(all.slice(0, 2).map((r) => [at(r, 'match', 0, 'file', 'try_files', 0), at(r, 'handle', 0, 'handler'), at(r, 'handle', 0, 'status_code')]),
      [['/notice-maintenance', 'static_response', 503], ['/notice-stopped', 'static_response', 503]]);
    assert.doesNotMatch(String(at(all[0], 'handle', 0, 'body')), /[{}]/, 'no braces: Caddy would take them for placeholders');
    const inner = all.slice(2);
    const byMarker = inner.map((r) => [
      r.match ? at(r, 'match', 0, 'file', 'try_files', 0) : 'none',
      (at(r, 'handle', 0, 'upstreams') as JsonObject[]).map((u) => String(u.dial).slice('127.0.0.1:'.length)).join(' '),
    ]);
    // Slot index 2 owns ports 20016-20023: a0 b0 a1 b1 a2 b2 a3 b3.
    assert.deepEqual(byMarker, [
      ['/a1', '20016'],
      ['/a2', '20016 20018'],
      ['/a3', '20016 20018 20020'],
      ['/a4', '20016 20018 20020 20022'],
      ['/b1', '20017'],
      ['/b2', '20017 20019'],
      ['/b3', '20017 20019 20021'],
      ['/b4', '20017 20019 20021 20023'],
      ['none', '20016 20017 20018 20019 20020 20021 20022 20023'],
    ]);
    assert.equal(at(inner[0], 'match', 0, 'file', 'root'), '/run/hiy/live/2');
    for (const r of inner) {
      const h = at(r, 'handle', 0);
      assert.equal(at(h, 'handler'), 'reverse_proxy');
      assert.deepEqual(at(h, 'load_balancing'), { selection_policy: { policy: 'round_robin' }, try_duration: '5s', try_interval: '50ms' });
      assert.deepEqual(at(h, 'health_checks'), { passive: { fail_duration: '1s', max_fails: 1 } });
      assert.equal(r.terminal, true);
    }
  });

  it('on a Swarm, lists every slot port on every node (a port answers on the node that runs its task)', () => {
    const route = slotRoute(0, 20000, '/run/hiy/live', [], ['10.0.0.2', '10.0.0.3']);
    const inner = at(route, 'handle', 0, 'routes') as JsonObject[];
    const dials = (r: JsonObject) => (at(r, 'handle', 0, 'upstreams') as JsonObject[]).map((u) => u.dial);
    const a2 = inner.find((r) => r.match && JSON.stringify(r.match).includes('"/a2"'));
    assert.ok(a2, 'the route of live marker a2');
    assert.deepEqual(dials(a2), ['10.0.0.2:20000', '10.0.0.3:20000', '10.0.0.2:20002', '10.0.0.3:20002']);
    const text = JSON.stringify(buildCaddyConfig(BASE, { ...opts({ tls: 'off' }), upstreamHosts: ['10.0.0.2', '10.0.0.3'] }, 16));
    assert.doesNotMatch(text, /127\.0\.0\.1:200/);
  });

  it('names no app or host but hiy.<domain>: creating an app or a domain does not change it', () => {
    const text = JSON.stringify(buildCaddyConfig(BASE, opts({ tls: 'auto' }), 16));
    assert.doesNotMatch(text, /hiy-app-/);
    assert.deepEqual(text.match(/[a-z0-9-]+\.pi\.example/g)?.filter((h, i, all) => all.indexOf(h) === i), ['hiy.pi.example']);
  });

  it('tls internal: certificates from the local CA on demand, for the hosts hiy confirms', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'internal' }), 16);
    assert.deepEqual(at(cfg, 'apps', 'tls', 'automation'), {
      policies: [{ issuers: [{ module: 'internal' }], on_demand: true, disable_ocsp_stapling: true }],
      on_demand: { ask: ASK },
    });
  });

  it('with TLS, plain HTTP redirects to HTTPS on the configured port (own redirect server)', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'internal' }), 16);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https'), { disable_redirects: true });
    const redirect = at(cfg, 'apps', 'http', 'servers', REDIRECT_SERVER_NAME);
    assert.deepEqual(at(redirect, 'listen'), [':8080']);
    assert.deepEqual(at(redirect, 'routes', 0, 'handle', 0, 'headers', 'Location'), ['https://{http.request.host}:8443{http.request.uri}']);
    const standard = buildCaddyConfig(BASE, opts({ tls: 'auto', httpPort: 80, httpsPort: 443 }), 16);
    assert.deepEqual(at(standard, 'apps', 'http', 'servers', REDIRECT_SERVER_NAME, 'routes', 0, 'handle', 0, 'headers', 'Location'), ['https://{http.request.host}{http.request.uri}']);
  });

  it('tls auto: Caddy\'s default issuers, hiy.<domain> ordered ahead, the rest on demand; HTTPS listener', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'auto', listenHost: '127.0.0.1' }), 16);
    assert.deepEqual(at(cfg, 'apps', 'tls', 'automation'), { policies: [{ subjects: ['hiy.pi.example'] }, { on_demand: true }], on_demand: { ask: ASK } });
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'listen'), ['127.0.0.1:8443']);
  });

  it('tls off: plain HTTP on httpPort, automatic HTTPS disabled', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'off', listenHost: '::1' }), 16);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'listen'), ['[::1]:8080']);
    assert.deepEqual(at(server, 'automatic_https'), { disable: true });
    assert.equal((at(cfg, 'apps') as JsonObject).tls, undefined);
    assert.deepEqual(Object.keys(at(cfg, 'apps', 'http', 'servers') as JsonObject), [SERVER_NAME]);
  });

  it('reads the app routes of an older hiy\'s config (one host-matched route per app), skipping foreign ones', () => {
    const legacy = (app: string, ports: number[], hosts: string[]): Json => ({
      '@id': `hiy-app-${app}`, match: [{ host: hosts }],
      handle: [{ handler: 'subroute', routes: [{ handle: [{ handler: 'reverse_proxy', upstreams: ports.map((p) => ({ dial: `127.0.0.1:${p}` })) }] }] }],
    });
    const ports = (i: number) => Array.from({ length: 8 }, (_, k) => 20000 + i * 8 + k);
    const routes = [
      legacy('a', ports(0), ['a.pi.example']),
      legacy('b-2', ports(3), ['b-2.pi.example', 'shop.example.com']),
      legacy('weird', [20001, 20002], ['weird.pi.example']),
      { '@id': 'hiy-app-foreign', handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '10.0.0.1:80' }, { dial: '127.0.0.1:1' }] }] },
      'junk', null,
    ];
    assert.deepEqual(parseLegacyAppRoutes(routes, 20000), [
      { app: 'a', slotIndex: 0 },
      { app: 'b-2', slotIndex: 3, extraHosts: ['shop.example.com'] },
    ]);
    assert.deepEqual(parseLegacyAppRoutes(undefined, 20000), []);
    assert.deepEqual(parseLegacyAppRoutes({ not: 'an array' }, 20000), []);
  });

  it('dials this box\'s ports with a 2 s timeout (a full listen queue gets through on the SYN retransmit) and the nodes\' addresses with 0.5 s (a dead node costs a short retry)', () => {
    const dial = (h: JsonObject) => (h.transport as JsonObject).dial_timeout;
    assert.equal(dial(appProxyHandler([5000])), '2s');
    assert.equal(dial(appProxyHandler([5000], [], ['127.0.0.1'])), '2s');
    assert.equal(dial(appProxyHandler([5000], [], ['10.0.0.2', '10.0.0.3'])), '500ms');
  });

  it('merges objects deeply and lets generated values win', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 } }), { a: { b: 1, c: [2], e: 3 }, d: 1 });
    assert.deepEqual(bootConfig({ host: '::1', port: 2019 }), { admin: { listen: '[::1]:2019' } });
  });
});

describe('tls dns: hiy\'s wildcard certificate', () => {
  it('knows which hosts a wildcard covers', () => {
    assert.ok(coveredByWildcard('web.pi.example', 'pi.example'));
    assert.ok(coveredByWildcard('pi.example', 'pi.example'));
    assert.ok(!coveredByWildcard('a.b.pi.example', 'pi.example'), 'a wildcard covers one label');
    assert.ok(!coveredByWildcard('shop.example.com', 'pi.example'));
    assert.ok(!coveredByWildcard('xpi.example', 'pi.example'));
  });

  const cert = { certificate: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n', key: '-----BEGIN EC PRIVATE KEY-----\nY\n-----END EC PRIVATE KEY-----\n' };

  it('is loaded as PEM; Caddy orders nothing for hiy.<domain>, custom domains on demand', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'dns', certificates: [cert] }), 16);
    assert.deepEqual(at(cfg, 'apps', 'tls', 'certificates', 'load_pem'), [{ ...cert, tags: ['hiy-wildcard'] }]);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https'), { disable_redirects: true, skip_certificates: ['hiy.pi.example'] });
    assert.deepEqual(at(cfg, 'apps', 'tls', 'automation'), { policies: [{ on_demand: true }], on_demand: { ask: ASK } });
  });

  it('skips hiy.<domain> also before the certificate exists', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'dns' }), 16);
    assert.equal((at(cfg, 'apps', 'tls') as JsonObject).certificates, undefined);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https', 'skip_certificates'), ['hiy.pi.example']);
  });

  it('HIY_ACME_CA and its root become Caddy\'s issuer in auto and dns mode', () => {
    const issuers = [{ module: 'acme', ca: 'https://127.0.0.1:14000/dir', trusted_roots_pem_files: ['/etc/hiy/ca.pem'] }];
    for (const tls of ['auto', 'dns'] as const) {
      const cfg = buildCaddyConfig(BASE, opts({ tls, acmeIssuer: { ca: 'https://127.0.0.1:14000/dir', trustedRootsPemFile: '/etc/hiy/ca.pem' } }), 16);
      const policies = at(cfg, 'apps', 'tls', 'automation', 'policies') as JsonObject[];
      assert.deepEqual(policies.at(-1), { issuers, on_demand: true });
      if (tls === 'auto') assert.deepEqual(policies[0], { subjects: ['hiy.pi.example'], issuers });
    }
  });

  it('trusted proxies go on every reverse_proxy handler', () => {
    const cfg = buildCaddyConfig(BASE, opts({ trustedProxies: ['10.0.0.0/8'] }), 16);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'routes', 0, 'handle', 0, 'trusted_proxies'), ['10.0.0.0/8']);
    const inner = (at(server, 'routes', 1, 'handle', 0, 'routes') as JsonObject[]).filter((r) => at(r, 'handle', 0, 'handler') === 'reverse_proxy');
    assert.equal(inner.length, 9);
    for (const r of inner) assert.deepEqual(at(r, 'handle', 0, 'trusted_proxies'), ['10.0.0.0/8']);
    const plain = buildCaddyConfig(BASE, opts(), 16);
    assert.equal((at(plain, 'apps', 'http', 'servers', SERVER_NAME, 'routes', 0, 'handle', 0) as JsonObject).trusted_proxies, undefined);
  });
});
