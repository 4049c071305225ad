import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { HiyError } from './errors.js';

const base = { HOME: '/home/pi' };

function configError(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    assert.ok(err instanceof HiyError, 'a HiyError');
    assert.equal(err.code, 'config');
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', { timeout: 10_000 }, () => {
  it('has the defaults of the operator contract', () => {
    const c = loadConfig(base);
    assert.equal(c.dataDir, '/home/pi/.hiy');
    assert.equal(c.domain, 'localhost');
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 3000 });
    // Not TCP: a unix socket in a folder of the run dir (/run/hiy for root, else <data dir>/run).
    const runDir = process.getuid?.() === 0 ? '/run/hiy' : '/home/pi/.hiy/run';
    assert.deepEqual(c.caddyAdmin, { socket: `${runDir}/caddy-admin/admin.sock` });
    assert.equal(c.httpPort, 80);
    assert.equal(c.httpsPort, 443);
    assert.equal(c.tls, 'internal', 'localhost gets internal TLS');
    assert.equal(c.adminToken, undefined);
    assert.equal(c.publicUrl, 'https://hiy.localhost');
  });

  it('reads every HIY_* variable', () => {
    const c = loadConfig({
      ...base, HIY_DATA_DIR: '/srv/hiy', HIY_DOMAIN: 'Pi.Example.com', HIY_LISTEN: '[::1]:4000', HIY_CADDY_ADMIN: '2020',
      HIY_HTTP_PORT: '8080', HIY_HTTPS_PORT: '8443', HIY_TLS: 'off', HIY_ADMIN_TOKEN: 'x'.repeat(43),
    });
    assert.equal(c.dataDir, '/srv/hiy');
    assert.equal(c.domain, 'pi.example.com');
    assert.deepEqual(c.listen, { host: '::1', port: 4000 });
    assert.deepEqual(c.caddyAdmin, { host: '127.0.0.1', port: 2020 }, 'TCP only when asked for');
    assert.deepEqual(loadConfig({ ...base, HIY_CADDY_ADMIN: 'unix:/run/x/admin.sock' }).caddyAdmin, { socket: '/run/x/admin.sock' });
    assert.deepEqual(loadConfig({ ...base, HIY_RUN_DIR: '/run/other' }).caddyAdmin, { socket: '/run/other/caddy-admin/admin.sock' });
    assert.equal(c.tls, 'off');
    assert.equal(c.adminToken, 'x'.repeat(43));
    assert.equal(c.publicUrl, 'http://hiy.pi.example.com:8080');
  });

  it('keeps live markers in /run/hiy as root, in the data dir otherwise, or in HIY_RUN_DIR (absolute)', () => {
    const root = process.getuid?.() === 0;
    assert.equal(loadConfig(base).runDir, root ? '/run/hiy' : '/home/pi/.hiy/run');
    assert.equal(loadConfig({ ...base, HIY_RUN_DIR: '/srv/run/hiy/' }).runDir, '/srv/run/hiy');
    assert.match(configError({ HIY_RUN_DIR: 'run/hiy' }), /HIY_RUN_DIR: "run\/hiy" is not an absolute path/);
  });

  it('reads the disk limits (reserve for builds, per-app writable layers, check interval)', () => {
    const c = loadConfig(base);
    assert.deepEqual([c.diskReserveMb, c.appDiskMb, c.diskCheckIntervalSec], [1024, 2048, 60]);
    const d = loadConfig({ ...base, HIY_DISK_RESERVE_MB: '0', HIY_APP_DISK_MB: '64', HIY_DISK_CHECK_INTERVAL: '2' });
    assert.deepEqual([d.diskReserveMb, d.appDiskMb, d.diskCheckIntervalSec], [0, 64, 2]);
    assert.match(configError({ HIY_APP_DISK_MB: '8' }), /HIY_APP_DISK_MB: 8 is out of range/);
    assert.match(configError({ HIY_DISK_CHECK_INTERVAL: 'soon' }), /HIY_DISK_CHECK_INTERVAL/);
  });

  it('reads the settings of one-off runs and cron jobs, and refuses bad ones', () => {
    assert.deepEqual(loadConfig(base).runs, { timezone: undefined, maxPerApp: 3, attachedTimeoutSec: 0, detachedTimeoutSec: 3600 });
    assert.deepEqual(loadConfig({ ...base, HIY_TZ: 'Europe/Berlin', HIY_RUN_LIMIT: '5', HIY_RUN_TIMEOUT: '600', HIY_JOB_TIMEOUT: '0' }).runs,
      { timezone: 'Europe/Berlin', maxPerApp: 5, attachedTimeoutSec: 600, detachedTimeoutSec: 0 });
    assert.match(configError({ HIY_TZ: 'Mars/Olympus' }), /HIY_TZ: "Mars\/Olympus" is not a time zone name/);
    assert.match(configError({ HIY_RUN_LIMIT: '0' }), /HIY_RUN_LIMIT: 0 is out of range/);
    assert.match(configError({ HIY_RUN_TIMEOUT: '1h' }), /HIY_RUN_TIMEOUT: "1h" is not a whole number/);
  });

  it('reads which runtime runs app processes and how nodes share images and networks', () => {
    const c = loadConfig(base);
    assert.equal(c.runtime, 'auto');
    assert.equal(c.overlayEncryption, true);
    assert.deepEqual(c.swarmNodeEngines, []);
    const s = loadConfig({ ...base, HIY_RUNTIME: 'swarm', HIY_OVERLAY_ENCRYPTION: 'off', HIY_SWARM_NODE_ENGINES: 'unix:///run/n2.sock, unix:///run/n3.sock' });
    assert.equal(s.runtime, 'swarm');
    assert.equal(s.overlayEncryption, false);
    assert.deepEqual(s.swarmNodeEngines, ['unix:///run/n2.sock', 'unix:///run/n3.sock']);
    assert.match(configError({ HIY_RUNTIME: 'k8s' }), /HIY_RUNTIME/);
    assert.match(configError({ HIY_OVERLAY_ENCRYPTION: 'maybe' }), /HIY_OVERLAY_ENCRYPTION/);
  });

  it('uses automatic TLS for a public domain', () => {
    assert.equal(loadConfig({ ...base, HIY_DOMAIN: 'pi.example.com' }).tls, 'auto');
  });

  it('refuses a port out of range or not a number, naming the variable', () => {
    assert.match(configError({ HIY_HTTP_PORT: '70000' }), /HIY_HTTP_PORT: 70000 is out of range \(1-65535\)/);
    assert.match(configError({ HIY_HTTPS_PORT: '0' }), /HIY_HTTPS_PORT: 0 is out of range/);
    assert.match(configError({ HIY_HTTP_PORT: 'eighty' }), /HIY_HTTP_PORT: "eighty" is not a port number/);
    assert.match(configError({ HIY_HTTP_PORT: '-1' }), /HIY_HTTP_PORT/);
  });

  it('refuses an unknown HIY_TLS', () => {
    assert.match(configError({ HIY_TLS: 'on' }), /HIY_TLS: "on" is not one of auto, dns, internal, off/);
  });

  it('refuses a bad listen address', () => {
    assert.match(configError({ HIY_LISTEN: 'localhost' }), /HIY_LISTEN: "localhost" is not host:port/);
    assert.match(configError({ HIY_LISTEN: '127.0.0.1:99999' }), /HIY_LISTEN: 99999 is out of range/);
    assert.match(configError({ HIY_LISTEN: 'a b:80' }), /HIY_LISTEN/);
    assert.match(configError({ HIY_CADDY_ADMIN: ':2019' }), /HIY_CADDY_ADMIN/);
    assert.match(configError({ HIY_CADDY_ADMIN: 'unix:relative.sock' }), /HIY_CADDY_ADMIN: .*unix:<absolute path>/);
    assert.match(configError({ HIY_CADDY_ADMIN: `unix:/${'x'.repeat(120)}` }), /longer than 107 bytes/);
  });

  it('refuses a bad domain, admin token or log level', () => {
    assert.match(configError({ HIY_DOMAIN: 'exa mple.com' }), /HIY_DOMAIN/);
    assert.match(configError({ HIY_DOMAIN: '-bad.com' }), /HIY_DOMAIN/);
    assert.match(configError({ HIY_ADMIN_TOKEN: 'short' }), /HIY_ADMIN_TOKEN: must be 32-256 printable/);
    assert.match(configError({ HIY_ADMIN_TOKEN: `${'x'.repeat(40)} y` }), /HIY_ADMIN_TOKEN/);
    assert.match(configError({ HIY_LOG_LEVEL: 'loud' }), /HIY_LOG_LEVEL/);
  });

  it('drives the engine HIY_DOCKER_HOST names, else DOCKER_HOST, else the usual socket', () => {
    assert.equal(loadConfig(base).dockerHost, 'unix:///var/run/docker.sock');
    assert.equal(loadConfig({ ...base, DOCKER_HOST: 'unix:///run/other.sock' }).dockerHost, 'unix:///run/other.sock');
    assert.equal(loadConfig({ ...base, DOCKER_HOST: 'unix:///run/other.sock', HIY_DOCKER_HOST: '/run/hiy-engine.sock' }).dockerHost, 'unix:///run/hiy-engine.sock');
    assert.equal(loadConfig({ ...base, HIY_DOCKER_HOST: 'tcp://10.0.0.2:2375/' }).dockerHost, 'tcp://10.0.0.2:2375');
    assert.equal(loadConfig({ ...base, HIY_DOCKER_HOST: '', DOCKER_HOST: 'tcp://[fd00::1]:2375' }).dockerHost, 'tcp://[fd00::1]:2375');
    assert.match(configError({ HIY_DOCKER_HOST: 'ssh://pi@box' }), /HIY_DOCKER_HOST: "ssh:\/\/pi@box" is not an engine address .*TLS and ssh/);
    assert.match(configError({ DOCKER_HOST: 'https://box:2376' }), /^DOCKER_HOST: /);
    assert.match(configError({ HIY_DOCKER_HOST: 'unix://relative.sock' }), /HIY_DOCKER_HOST: .*absolute path/);
  });
});
