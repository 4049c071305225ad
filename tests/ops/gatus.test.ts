// The generated Gatus config follows the apps table (create, destroy, start) and is valid YAML;
// infra/docker-compose.yml is a valid Compose file (its images cannot be pulled here, so it is
// validated, not run).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { gatusConfig } from '../../src/ops/gatus.js';
import { apiClient, startInProcess, type InProcessHiy } from '../../harness/server.js';
import { repoRoot } from '../../harness/paths.js';

const hasPyYaml = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;

/** YAML → JSON through python3-yaml (no YAML parser among hiy's dependencies). */
function parseYaml(file: string): any {
  const r = spawnSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('Gatus config generated from the apps table', { timeout: 120_000 }, () => {
  let hiy: InProcessHiy;
  const file = () => join(hiy.dataDir, 'gatus', 'config.yaml');

  before(async () => { hiy = await startInProcess(); });
  after(async () => { await hiy?.stop(); });

  test('written at start with hiy itself, then one endpoint per app as apps come and go', async () => {
    assert.ok(existsSync(file()), 'written at start');
    assert.match(readFileSync(file(), 'utf8'), /name: "hiy"/);
    const api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: 'gatus-one' })).status, 201);
    assert.equal((await api('POST', '/apps', { name: 'gatus-two' })).status, 201);
    let text = readFileSync(file(), 'utf8');
    assert.match(text, /name: "gatus-one"/);
    assert.match(text, /url: "https:\/\/gatus-two\.localhost:\d+\/"/);
    assert.equal((await api('PATCH', '/apps/gatus-two', { health_path: '/healthz' })).status, 200);
    assert.match(readFileSync(file(), 'utf8'), /url: "https:\/\/gatus-two\.localhost:\d+\/healthz"/);
    assert.equal((await api('DELETE', '/apps/gatus-one')).status, 200);
    text = readFileSync(file(), 'utf8');
    assert.doesNotMatch(text, /gatus-one/);
    assert.match(text, /gatus-two/);
    if (hasPyYaml) {
      const parsed = parseYaml(file());
      assert.deepEqual(parsed.endpoints.map((e: { name: string }) => e.name), ['hiy', 'gatus-two']);
      assert.equal(parsed.endpoints[1].client.insecure, true, 'tls internal: Caddy\'s own CA');
    }
  });

  test('public TLS adds a certificate expiry check; odd health paths stay inside their quotes', { skip: !hasPyYaml && 'python3-yaml is not installed' }, async () => {
    const cfg = loadConfig({ HIY_DOMAIN: 'pi.example.com', HIY_DATA_DIR: hiy.dataDir });
    const text = gatusConfig(cfg, [{ name: 'shop', health_path: '/up?x="1"\n- name: evil' }]);
    const tmp = join(hiy.dataDir, 'gatus', 'check.yaml');
    writeFileSync(tmp, text);
    const parsed = parseYaml(tmp);
    assert.equal(parsed.endpoints.length, 2);
    assert.equal(parsed.endpoints[1].url, 'https://shop.pi.example.com/up?x="1"\n- name: evil');
    assert.deepEqual(parsed.endpoints[1].conditions, ['[STATUS] < 400', '[CERTIFICATE_EXPIRATION] > 240h']);
  });
});

describe('infra/docker-compose.yml', { timeout: 60_000 }, () => {
  const compose = join(repoRoot(), 'infra', 'docker-compose.yml');
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;

  test(`is a valid Compose file (${plugin ? 'docker compose config' : hasPyYaml ? 'YAML parse: no compose plugin here' : 'skipped: neither the compose plugin nor python3-yaml'})`, { skip: !plugin && !hasPyYaml }, () => {
    // `config` wants the env_file to exist: it does once infra/install.sh ran.
    if (plugin && existsSync('/etc/hiy/hiy.env')) {
      const r = spawnSync('docker', ['compose', '-f', compose, 'config', '--quiet', '--no-interpolate'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
    }
    const doc = parseYaml(compose);
    assert.deepEqual(Object.keys(doc.services).sort(), ['gatus', 'hiy', 'netdata']);
    assert.equal(doc.services.hiy.network_mode, 'host');
    assert.ok(doc.services.hiy.volumes.includes('/var/run/docker.sock:/var/run/docker.sock'), 'hiy drives the host engine');
    assert.ok(doc.services.gatus.volumes.some((v: string) => v.startsWith('/var/lib/hiy/gatus:')), 'Gatus reads the config hiy writes');
    for (const s of Object.values(doc.services) as { logging?: { options?: Record<string, string> } }[]) {
      assert.equal(s.logging?.options?.['max-size'], '10m');
    }
  });
});
