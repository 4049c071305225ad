import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appRoute, appRouteId, buildCaddyConfig, bootConfig, deepMerge, parseAppRoutes, REDIRECT_SERVER_NAME, SERVER_NAME,
  type CaddyConfigOptions,
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

describe('caddy-config', () => {
  it('keeps the admin address, sets http/https ports and the routes in order', () => {
    const cfg = buildCaddyConfig(BASE, opts(), [{ app: 'zeta', slotPorts: [20002, 20003] }, { app: 'alpha', slotPorts: [20000, 20001] }]);
    assert.equal(at(cfg, 'admin', 'listen'), '127.0.0.1:2999');
    assert.equal(at(cfg, 'apps', 'http', 'http_port'), 8080);
    assert.equal(at(cfg, 'apps', 'http', 'https_port'), 8443);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'listen'), [':8443']);
    const ids = (at(server, 'routes') as JsonObject[]).map((r) => r['@id']);
    assert.deepEqual(ids, ['hiy-control-plane', 'hiy-app-alpha', 'hiy-app-zeta', 'hiy-fallback']);
    assert.deepEqual(at(server, 'routes', 0, 'match'), [{ host: ['hiy.pi.example'] }]);
    assert.equal(at(server, 'routes', 0, 'handle', 0, 'upstreams', 0, 'dial'), '127.0.0.1:3000');
    // The base file's parts survive the merge.
    assert.equal(at(cfg, 'apps', 'pki', 'certificate_authorities', 'local', 'install_trust'), false);
  });

  it('gives each app one inner route per live marker, proxying to exactly that slot\'s replicas', () => {
    // Two web replicas: a0, b0, a1, b1.
    const route = appRoute({ app: 'myapp', slotPorts: [20000, 20001, 20002, 20003] }, 'pi.example', '/run/hiy/live');
    assert.equal(route['@id'], 'hiy-app-myapp');
    assert.deepEqual(route.match, [{ host: ['myapp.pi.example'] }]);
    assert.equal(at(route, 'handle', 0, 'handler'), 'subroute');
    const inner = at(route, 'handle', 0, 'routes') as JsonObject[];
    const byMarker = inner.map((r) => [
      r.match ? at(r, 'match', 0, 'file', 'try_files', 0) : 'none',
      (at(r, 'handle', 0, 'upstreams') as JsonObject[]).map((u) => u.dial).join(' '),
    ]);
    assert.deepEqual(byMarker, [
      ['/a1', '127.0.0.1:20000'],
      ['/a2', '127.0.0.1:20000 127.0.0.1:20002'],
      ['/b1', '127.0.0.1:20001'],
      ['/b2', '127.0.0.1:20001 127.0.0.1:20003'],
      ['none', '127.0.0.1:20000 127.0.0.1:20001 127.0.0.1:20002 127.0.0.1:20003'],
    ]);
    assert.equal(at(inner[0], 'match', 0, 'file', 'root'), '/run/hiy/live/myapp');
    for (const r of inner) {
      const h = at(r, 'handle', 0);
      assert.equal(at(h, 'handler'), 'reverse_proxy');
      assert.deepEqual(at(h, 'load_balancing'), { selection_policy: { policy: 'round_robin' }, try_duration: '5s', try_interval: '50ms' });
      assert.deepEqual(at(h, 'health_checks'), { passive: { fail_duration: '1s', max_fails: 1 } });
      assert.equal(r.terminal, true);
    }
    assert.throws(() => appRoute({ app: 'x', slotPorts: [1, 1] }, 'd', '/l'), /port 1 twice/);
    assert.throws(() => appRoute({ app: 'x', slotPorts: [1, 2, 3] }, 'd', '/l'), /pairs/);
  });

  it('tls internal: internal issuer for hiy.<domain> and *.<domain>', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'internal' }), []);
    assert.deepEqual(at(cfg, 'apps', 'tls', 'automation', 'policies'), [{
      subjects: ['hiy.pi.example', '*.pi.example'], issuers: [{ module: 'internal' }], disable_ocsp_stapling: true,
    }]);
  });

  it('with TLS, plain HTTP redirects to HTTPS on the configured port (own redirect server)', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'internal' }), []);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https'), { disable_redirects: true });
    const redirect = at(cfg, 'apps', 'http', 'servers', REDIRECT_SERVER_NAME);
    assert.deepEqual(at(redirect, 'listen'), [':8080']);
    assert.deepEqual(at(redirect, 'routes', 0, 'handle', 0, 'headers', 'Location'), ['https://{http.request.host}:8443{http.request.uri}']);
    const standard = buildCaddyConfig(BASE, opts({ tls: 'auto', httpPort: 80, httpsPort: 443 }), []);
    assert.deepEqual(at(standard, 'apps', 'http', 'servers', REDIRECT_SERVER_NAME, 'routes', 0, 'handle', 0, 'headers', 'Location'), ['https://{http.request.host}{http.request.uri}']);
  });

  it('tls auto: ACME defaults (no tls app), HTTPS listener', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'auto', listenHost: '127.0.0.1' }), []);
    assert.equal((at(cfg, 'apps') as JsonObject).tls, undefined);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'listen'), ['127.0.0.1:8443']);
  });

  it('tls off: plain HTTP on httpPort, automatic HTTPS disabled', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'off', listenHost: '::1' }), []);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'listen'), ['[::1]:8080']);
    assert.deepEqual(at(server, 'automatic_https'), { disable: true });
    assert.equal((at(cfg, 'apps') as JsonObject).tls, undefined);
    assert.deepEqual(Object.keys(at(cfg, 'apps', 'http', 'servers') as JsonObject), [SERVER_NAME]);
  });

  it('refuses two routes for one app', () => {
    assert.throws(() => buildCaddyConfig(BASE, opts(), [{ app: 'a', slotPorts: [1, 2] }, { app: 'a', slotPorts: [3, 4] }]), /duplicate route/);
  });

  it('reads app routes back from a running config, skipping foreign ones', () => {
    const cfg = buildCaddyConfig(BASE, opts(), [{ app: 'a', slotPorts: [20000, 20001] }, { app: 'b-2', slotPorts: [20002, 20003] }]);
    const routes = at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'routes') as Json[];
    const foreign: Json = { '@id': appRouteId('weird'), handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '10.0.0.1:80' }, { dial: '127.0.0.1:1' }] }] };
    assert.deepEqual(parseAppRoutes([...routes, foreign, 'junk', null]), [
      { app: 'a', slotPorts: [20000, 20001] },
      { app: 'b-2', slotPorts: [20002, 20003] },
    ]);
    assert.deepEqual(parseAppRoutes(undefined), []);
    assert.deepEqual(parseAppRoutes({ not: 'an array' }), []);
  });

  it('merges objects deeply and lets generated values win', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: 3 } }), { a: { b: 1, c: [2], e: 3 }, d: 1 });
    assert.deepEqual(bootConfig({ host: '::1', port: 2019 }), { admin: { listen: '[::1]:2019' } });
  });
});

describe('custom domains', () => {
  const route = { app: 'shop', slotPorts: [20000, 20001], extraHosts: ['shop.example.com', 'www.shop.example.com'] };

  it('match the app route next to <app>.<domain> and read back from a running config', () => {
    const r = appRoute(route, 'pi.example', '/l');
    assert.deepEqual(at(r, 'match', 0, 'host'), ['shop.pi.example', 'shop.example.com', 'www.shop.example.com']);
    const parsed = parseAppRoutes([r]);
    assert.deepEqual(parsed[0]?.extraHosts, route.extraHosts);
  });

  it('get certificates from the local CA in internal mode', () => {
    const cfg = buildCaddyConfig(BASE, opts(), [route]);
    const subjects = at(cfg, 'apps', 'tls', 'automation', 'policies', 0, 'subjects') as string[];
    for (const h of route.extraHosts) assert.ok(subjects.includes(h), `${h} in ${subjects.join(', ')}`);
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
  const routes = [{ app: 'web', slotPorts: [20000, 20001], extraHosts: ['shop.example.com'] }, { app: 'api', slotPorts: [20002, 20003] }];

  it('is loaded as PEM, and Caddy manages no certificate for the hosts it covers (custom domains keep HTTP-01)', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'dns', certificates: [cert] }), routes);
    assert.deepEqual(at(cfg, 'apps', 'tls', 'certificates', 'load_pem'), [{ ...cert, tags: ['hiy-wildcard'] }]);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https'), {
      disable_redirects: true,
      skip_certificates: ['api.pi.example', 'hiy.pi.example', 'web.pi.example'],
    });
    assert.equal((at(cfg, 'apps', 'tls') as JsonObject).automation, undefined, 'Caddy\'s default issuers for the rest');
  });

  it('skips the covered hosts also before the certificate exists', () => {
    const cfg = buildCaddyConfig(BASE, opts({ tls: 'dns' }), routes);
    assert.equal((at(cfg, 'apps') as JsonObject).tls, undefined);
    assert.deepEqual(at(cfg, 'apps', 'http', 'servers', SERVER_NAME, 'automatic_https', 'skip_certificates'), ['api.pi.example', 'hiy.pi.example', 'web.pi.example']);
  });

  it('HIY_ACME_CA and its root become Caddy\'s issuer in auto and dns mode', () => {
    for (const tls of ['auto', 'dns'] as const) {
      const cfg = buildCaddyConfig(BASE, opts({ tls, acmeIssuer: { ca: 'https://127.0.0.1:14000/dir', trustedRootsPemFile: '/etc/hiy/ca.pem' } }), routes);
      assert.deepEqual(at(cfg, 'apps', 'tls', 'automation', 'policies'), [{ issuers: [{ module: 'acme', ca: 'https://127.0.0.1:14000/dir', trusted_roots_pem_files: ['/etc/hiy/ca.pem'] }] }]);
    }
  });

  it('trusted proxies go on every reverse_proxy handler', () => {
    const cfg = buildCaddyConfig(BASE, opts({ trustedProxies: ['10.0.0.0/8'] }), routes);
    const server = at(cfg, 'apps', 'http', 'servers', SERVER_NAME);
    assert.deepEqual(at(server, 'routes', 0, 'handle', 0, 'trusted_proxies'), ['10.0.0.0/8']);
    const inner = at(server, 'routes', 1, 'handle', 0, 'routes') as JsonObject[];
    for (const r of inner) assert.deepEqual(at(r, 'handle', 0, 'trusted_proxies'), ['10.0.0.0/8']);
    const plain = buildCaddyConfig(BASE, opts(), routes);
    assert.equal((at(plain, 'apps', 'http', 'servers', SERVER_NAME, 'routes', 0, 'handle', 0) as JsonObject).trusted_proxies, undefined);
  });
});
