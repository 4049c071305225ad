import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/log.js';
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js';
import { cleanupByLabel, docker, ensureDocker, testRun, waitForHttp } from '../../harness/docker.js';
import { ensureNodeImage, NODE_IMAGE } from '../../harness/images.js';
import { freePorts } from '../../harness/ports.js';

const run = testRun();
const APP = `node-${randomBytes(3).toString('hex')}`;

describe('the locally assembled Node image runs an app under the hardened runtime', { timeout: 180_000 }, () => {
  before(async () => {
    await ensureDocker();
    await ensureNodeImage();
  });
  after(() => cleanupByLabel(run.label));

  test('node answers HTTP on $PORT with no capabilities, a pids limit and 64 MB', async () => {
    const img = await docker(['image', 'inspect', '--format', '{{index .Config.Labels "hiy.test.base"}}', NODE_IMAGE]);
    assert.equal(img.stdout.trim(), '1', 'base images carry hiy.test.base=1, so per-test cleanup keeps them');
    const rt = createDockerRuntime(createLogger('silent'), { labels: run.labels });
    const [port] = await freePorts(1);
    const server = "require('http').createServer((q, s) => s.end('node ' + process.version + ' as uid ' + process.getuid())).listen(process.env.PORT)";
    await rt.run({ name: `hiy-${APP}-${randomBytes(4).toString('hex')}`, image: NODE_IMAGE, app: APP, env: { PORT: '3000' }, containerPort: 3000, hostPort: port!, memoryMb: 64, cpus: 0.5, cmd: ['node', '-e', server] });
    assert.deepEqual(await waitForHttp(`http://127.0.0.1:${port}/`), { status: 200, body: `node ${process.version} as uid 0` });
  });
});
