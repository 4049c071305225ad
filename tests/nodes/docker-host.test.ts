/**
 * HIY_DOCKER_HOST: a real hiy pointed at another engine (a namespaced dockerd of the Swarm
 * harness) loads, builds and runs there, and touches nothing on the host's own engine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupByLabel, docker, ensureDocker, removeAppImages } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { webImageContext } from '../helpers/image-apps.js';

const ID = randomBytes(3).toString('hex');
const APP = `dh-${ID}`;
const TAG = `hiy-test-dh/${ID}:web`;

describe('HIY_DOCKER_HOST points hiy at another engine', { timeout: 300_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let ctx: string;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    ctx = mkdtempSync(join(tmpdir(), 'hiy-dh-'));
    const built = await docker(['build', '--quiet', '--label', 'hiy.test=1', '--tag', TAG, webImageContext(ctx, 'web', 'on the node\n')], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(built.code, 0, built.stderr);
    swarm = await startSwarm({ nodes: 1 });
    // DOCKER_HOST says the host's engine: HIY_DOCKER_HOST must win over it.
    hiy = await startHiy({ env: { HIY_DOCKER_HOST: swarm.nodes[0]!.dockerHost, DOCKER_HOST: 'unix:///var/run/docker.sock' } });
  });
  after(async () => {
    await hiy?.stop();
    await swarm?.teardown();
    await cleanupByLabel(`hiy.app=${APP}`);
    await removeAppImages(APP);
    await docker(['rmi', '-f', TAG]);
    if (ctx) rmSync(ctx, { recursive: true, force: true });
  });

  test('an uploaded image is loaded into, and run on, the node\'s engine; the host\'s engine gets nothing', async () => {
    const api = apiClient(hiy);
    assert.equal((await api('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 5, drain_s: 1 })).status, 201);
    const file = join(ctx, 'web.tar');
    assert.equal((await docker(['save', '--output', file, TAG])).code, 0);
    const res = await fetch(`${hiy.url}/api/v1/apps/${APP}/images`, {
      method: 'POST', body: readFileSync(file), headers: { authorization: `Bearer ${hiy.token}`, 'content-type': 'application/x-tar' }, signal: AbortSignal.timeout(60_000),
    });
    assert.ok(res.status < 300, `${res.status} ${await res.text()}`);

    const onNode = await swarm.docker(0, ['images', '--format', '{{.Repository}}', `hiy/${APP}`]);
    assert.equal(onNode.stdout.trim(), `hiy/${APP}`, 'the node has the app\'s image');
    assert.equal((await docker(['images', '-q', `hiy/${APP}`])).stdout.trim(), '', 'the host engine has no image of the app');

    // The deploy starts the release on the node. Its port is published on the node's own loopback,
    // which the host cannot reach: a plain engine elsewhere needs the Swarm runtime to be served.
    const d = await deployEnded(api, APP, undefined, 120_000);
    assert.equal(d.status, 'failed');
    assert.match(d.log, /Starting new release[\s\S]*did not answer HTTP/, 'it failed at the health check, after the engine started it');
    assert.equal((await docker(['ps', '-aq', '--filter', `label=hiy.app=${APP}`])).stdout.trim(), '', 'no container of the app on the host engine');
  });

  test('the node engine saw hiy\'s container (created there, then removed after the failed check)', async () => {
    const events = await swarm.docker(0, ['events', '--since', '10m', '--until', '0s', '--filter', `label=hiy.app=${APP}`, '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, new RegExp(`hiy-${APP}`), 'a container of the app was created on the node');
  });
});
