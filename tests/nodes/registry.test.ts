/**
 * The nodes' registry for real: Debian's docker-registry started by hiy's module with TLS from
 * hiy's registry CA and htpasswd auth, on the host's address in the Swarm harness's subnet. The
 * manager engine pushes a built image (Cluster.pushImage), a worker node pulls it by digest
 * through a Swarm service with the registry's login, an unauthenticated or untrusting node is
 * refused, and retention deletes old tags and garbage-collects them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker, ensureDocker, waitForHttp } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { freePort } from '../../harness/ports.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { openSecretBox } from '../../src/env/secret-box.js';
import { createLogger } from '../../src/log.js';
import { prepareRegistry, REGISTRY_USER, type PreparedRegistry } from '../../src/nodes/registry-files.js';
import { RegistryServer } from '../../src/nodes/registry-server.js';
import type { Cluster } from '../../src/runtime/cluster.js';
import { connectDocker } from '../../src/runtime/docker-client.js';
import { createDockerCluster } from '../../src/runtime/docker-cluster.js';
import { webImageContext } from '../helpers/image-apps.js';

const ID = randomBytes(3).toString('hex');
const TAGS = [`hiy-test-reg/${ID}:one`, `hiy-test-reg/${ID}:two`];
const REPO = `hiy/reg-${ID}`;
const PORT = 18081;

describe('the nodes\' registry: TLS, auth, push from the manager, pull on a worker, retention', { timeout: 300_000 }, () => {
  let swarm: TestSwarm;
  let dir: string;
  let reg: PreparedRegistry;
  let server: RegistryServer;
  let cluster: Cluster;
  const refs: string[] = [];
  /** A docker CLI config holding the registry login, never the host's own ~/.docker. */
  let cliConfig: string;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    dir = mkdtempSync(join(tmpdir(), 'hiy-nodereg-'));
    for (const [i, tag] of TAGS.entries()) {
      const r = await docker(['build', '--quiet', '--label', 'hiy.test=1', '--tag', tag, webImageContext(dir, `ctx${i}`, `release ${i + 1}\n`)], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(r.code, 0, r.stderr);
    }
    swarm = await startSwarm({ nodes: 2 });
    // Built on the manager: only node 1 has the images, node 2 must pull them.
    await swarm.loadImages(TAGS, [0]);
    const secrets = await openSecretBox(join(dir, 'secrets'));
    const port = await freePort();
    reg = await prepareRegistry(join(dir, 'data'), secrets, swarm.hostAddress, port, `${swarm.hostAddress}:${port}`);
    server = new RegistryServer(reg, createLogger('silent'));
    await server.start();
    swarm.trustRegistry(reg.address, reg.caPem);
    cluster = createDockerCluster(connectDocker(swarm.nodes[0]!.dockerHost));
    cliConfig = join(dir, 'docker-cli');
    mkdirSync(cliConfig, { recursive: true });
    writeFileSync(join(cliConfig, 'config.json'), JSON.stringify({ auths: { [reg.address]: { auth: Buffer.from(`${REGISTRY_USER}:${reg.password}`).toString('base64') } } }));
  });
  after(async () => {
    await server?.stop();
    await swarm?.teardown();
    await docker(['rmi', '-f', ...TAGS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the files: a CA and a server certificate for the nodes\' address, a bcrypt htpasswd, the password only encrypted', () => {
    const f = reg.files;
    assert.match(readFileSync(f.htpasswd, 'utf8'), /^hiy:\$2y\$/);
    for (const file of [f.htpasswd, f.config, f.credential, f.caKey, f.key]) {
      assert.ok(!readFileSync(file, 'utf8').includes(reg.password), `${file} does not hold the password`);
    }
    assert.equal(reg.password.length, 43, '32 random bytes');
  });

  test('the manager pushes; the answer is a digest reference in the registry', async () => {
    const ref = await cluster.pushImage(TAGS[0]!, { registry: reg.address, repository: REPO, tag: 'v1', username: REGISTRY_USER, password: reg.password });
    assert.match(ref, new RegExp(`^${reg.address.replace(/\./g, '\\.')}/${REPO}@sha256:[0-9a-f]{64}$`));
    refs.push(ref);
    const tags = await server.call('GET', `/v2/${REPO}/tags/list`);
    assert.deepEqual(JSON.parse(tags.body).tags, ['v1']);
    const left = await swarm.docker(0, ['images', '--format', '{{.Repository}}', `${reg.address}/${REPO}`]);
    assert.equal(left.stdout.trim(), '', 'the registry name is not left on the engine');
  });

  test('without the login a node is refused; without the CA it does not trust the registry', async () => {
    const anon = await swarm.docker(1, ['pull', refs[0]!]);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /no basic auth credentials|unauthorized/);
    const ca = join(swarm.nodes[1]!.etcDocker, 'certs.d', reg.address, 'ca.crt');
    renameSync(ca, `${ca}.off`);
    try {
      const untrusted = await swarm.docker(1, ['pull', refs[0]!]);
      assert.notEqual(untrusted.code, 0);
      assert.match(untrusted.stderr, /x509|certificate/);
    } finally {
      renameSync(`${ca}.off`, ca);
    }
  });

  test('a service pinned to the worker pulls the pushed image with the registry login and serves it', async () => {
    const svc = await docker(['-H', swarm.nodes[0]!.dockerHost, 'service', 'create', '--detach', '--with-registry-auth', '--name', 'pulled',
      '--constraint', `node.hostname==${swarm.nodes[1]!.hostname}`, '--env', 'PORT=8080', '--publish', `mode=host,target=8080,published=${PORT}`, refs[0]!],
    { env: { DOCKER_CONFIG: cliConfig } });
    assert.equal(svc.code, 0, svc.stderr);
    const answer = await waitForHttp(`http://${swarm.nodes[1]!.address}:${PORT}/`, 90_000);
    assert.equal(answer.body, 'release 1\n');
    assert.ok(existsSync(reg.files.storage));
  });

  test('retention: tags hiy no longer keeps are deleted and garbage-collected; kept ones stay pullable', async () => {
    const second = await cluster.pushImage(TAGS[1]!, { registry: reg.address, repository: REPO, tag: 'v2', username: REGISTRY_USER, password: reg.password });
    const removed = await server.prune(REPO, new Set(['v2']));
    assert.deepEqual(removed, ['v1']);
    assert.deepEqual(JSON.parse((await server.call('GET', `/v2/${REPO}/tags/list`)).body).tags, ['v2']);
    const digest1 = refs[0]!.split('@')[1]!;
    assert.equal((await server.call('HEAD', `/v2/${REPO}/manifests/${digest1}`)).status, 404, 'the old manifest is gone');
    const pulled = await docker(['-H', swarm.nodes[1]!.dockerHost, 'pull', second], { env: { DOCKER_CONFIG: cliConfig } });
    assert.equal(pulled.code, 0, pulled.stderr);
  });
});
