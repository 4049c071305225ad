/**
 * Each build strategy end to end: a real git push to a real hiy, a real Docker build from a
 * generated (or no) Dockerfile, and the app answering through Caddy. Base images are built
 * locally (tests/helpers/images.ts) and given to hiy through HIY_IMAGE_*; fixtures need no
 * downloaded dependencies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker, httpGet } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, ensureNodeNpmImage, ensurePythonImage, NODE_NPM_IMAGE, PYTHON_IMAGE } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';

const id = randomBytes(3).toString('hex');
const APPS = { node: `bs-node-${id}`, python: `bs-py-${id}`, static: `bs-static-${id}`, none: `bs-none-${id}` };

async function containers(app: string, process?: string): Promise<string[]> {
  const filters = ['--filter', `label=hiy.app=${app}`, ...(process ? ['--filter', `label=hiy.process=${process}`] : [])];
  return (await run('docker', ['ps', '-q', ...filters])).stdout.trim().split('\n').filter(Boolean);
}

describe('build strategies: Dockerfile-less apps deploy by git push', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const copies: WorkingCopy[] = [];

  const fixture = async (name: string) => {
    const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', name));
    copies.push(wc);
    return wc;
  };
  const create = async (name: string) => {
    const r = await api('POST', '/apps', { name, health_timeout_s: 20, drain_s: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  const push = (wc: WorkingCopy, app: string) => wc.push(remoteUrl(hiy.url, app, hiy.token));
  /** The app through Caddy, and (while Caddy routing may still be settling) its web container's slot port. */
  const answer = async (app: string, path = '/') => {
    const ps = (await api('GET', `/apps/${app}/ps`)).body;
    const web = ps.processes.find((p: { type: string; running: boolean }) => p.type === 'web' && p.running);
    assert.ok(web?.port, `a running web process: ${JSON.stringify(ps)}`);
    const direct = await httpGet(`http://127.0.0.1:${web.port}${path}`, 5000);
    const caddy = await curlApp(hiy, app, path);
    assert.equal(caddy.status, '200', `through Caddy: ${JSON.stringify(caddy)}`);
    return { direct, caddy };
  };

  before(async () => {
    await ensureDocker();
    await Promise.all([ensureBusyboxImage(), ensureNodeNpmImage(), ensurePythonImage()]);
    hiy = await startHiy({ env: { HIY_IMAGE_NODE: NODE_NPM_IMAGE, HIY_IMAGE_PYTHON: PYTHON_IMAGE, HIY_IMAGE_STATIC: BUSYBOX_IMAGE } });
    api = apiClient(hiy);
    for (const name of Object.values(APPS)) await create(name);
  });

  after(async () => {
    await hiy?.stop();
    for (const wc of copies) wc.remove();
    for (const app of Object.values(APPS)) await cleanupByLabel(`hiy.app=${app}`);
  });

  test('Node.js with a Procfile: detected, npm ci, release command once, web and worker run as a non-root user', async () => {
    const wc = await fixture('node-app');
    const r = await push(wc, APPS.node);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote: -----> Detected Node\.js app/);
    assert.match(r.stderr, /Procfile process types: web, worker, release/);
    // BuildKit (with the npm cache mount) where its steps can be bounded, else the classic builder.
    // With BuildKit the install is hiy's kept-tree step (decision 47), a clean npm ci the first time.
    assert.match(r.stderr, /Step \d+\/\d+ : RUN npm ci --omit=dev|\[[\w-]+ \d+\/\d+\] RUN --mount=type=cache,id=hiy\/\S+ .*else npm ci --omit=dev/);
    assert.equal(r.stderr.match(/release command ran for: hello v1/g)?.length, 1, 'the release command ran exactly once');
    // git push answers once the web release serves; workers start after the switch (decision 32),
    // which the deploy's log shows.
    const ended = await deployEnded(api, APPS.node);
    assert.equal(ended.status, 'success', ended.log);
    assert.match(ended.log, /-----> Starting 1 worker process/);

    const { direct, caddy } = await answer(APPS.node);
    assert.match(direct.body, /^hello v1 from [0-9a-f]{12}\n$/);
    assert.match(caddy.body, /^hello v1 from /);
    assert.equal((await answer(APPS.node, '/whoami')).direct.body, 'uid=10001\n');

    assert.equal((await containers(APPS.node, 'web')).length, 1);
    const workers = await containers(APPS.node, 'worker');
    assert.equal(workers.length, 1);
    assert.match((await run('docker', ['logs', workers[0]!])).stdout, /worker started/);
    assert.equal((await run('docker', ['ps', '-aq', '--filter', `label=hiy.app=${APPS.node}`, '--filter', 'label=hiy.process=release'])).stdout.trim(), '', 'the release container is gone');
    const ps = (await api('GET', `/apps/${APPS.node}/ps`)).body;
    assert.deepEqual(ps.formation, { web: 1, worker: 1 });
    assert.equal(ps.process_types.release, 'node release.js');
  });

  test('a code-only change rebuilds without reinstalling dependencies, and the worker is restarted with the release', async () => {
    const wc = copies[0]!;
    const workerBefore = await containers(APPS.node, 'worker');
    wc.write('message.txt', 'hello v2\n');
    await wc.commit('code only');
    const r = await push(wc, APPS.node);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n');
    if (!lines.some((l) => /CACHED \[[\w-]+ \d+\/\d+\] RUN --mount=\S+ .*npm ci/.test(l))) {
      // The classic builder says so on the line after the step.
      const install = lines.findIndex((l) => /Step \d+\/\d+ : RUN npm ci/.test(l));
      assert.ok(install >= 0, r.stderr);
      assert.match(lines[install + 1] ?? '', /Using cache/, `the install step came from the cache:\n${lines.slice(install, install + 3).join('\n')}`);
    }
    assert.match((await answer(APPS.node)).caddy.body, /^hello v2 from /);
    assert.equal((await deployEnded(api, APPS.node)).status, 'success');
    const workerAfter = await containers(APPS.node, 'worker');
    assert.equal(workerAfter.length, 1);
    assert.notEqual(workerAfter[0], workerBefore[0], 'a new worker container runs the new release');
  });

  test('a failing release command fails the deploy and the old release keeps serving', async () => {
    const wc = copies[0]!;
    const before = (await api('GET', `/apps/${APPS.node}/releases`)).body.current;
    wc.write('message.txt', 'hello v3\n');
    wc.write('fail-release', 'yes\n');
    await wc.commit('failing migration');
    const r = await push(wc, APPS.node);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /migration failed: the database says no/);
    assert.match(r.stderr, /the release command failed \(exit code 3\)/);
    assert.doesNotMatch(r.stderr, /Starting new release/);
    assert.equal((await api('GET', `/apps/${APPS.node}/releases`)).body.current, before);
    assert.match((await answer(APPS.node)).caddy.body, /^hello v2 from /);
    assert.equal((await containers(APPS.node, 'web')).length, 1);
    assert.equal((await containers(APPS.node, 'worker')).length, 1);
    rmSync(join(wc.dir, 'fail-release'));
  });

  test('Python (standard library, Procfile web): detected, nothing to install, answers', async () => {
    const wc = await fixture('python-app');
    const r = await push(wc, APPS.python);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote: -----> Detected Python app/);
    assert.match(r.stderr, /requirements\.txt lists no packages/);
    const { direct, caddy } = await answer(APPS.python);
    assert.match(direct.body, /^hello from python 3\.\d+ as uid 10001\n$/);
    assert.equal(caddy.body, direct.body);
  });

  test('a static site: detected, served by a small image', async () => {
    const wc = await fixture('static-site');
    const r = await push(wc, APPS.static);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /remote: -----> Detected static site/);
    const { direct, caddy } = await answer(APPS.static);
    assert.match(direct.body, /hello from a static site/);
    assert.equal(caddy.body, direct.body);
    const size = Number((await run('docker', ['image', 'inspect', '--format', '{{.Size}}', (await api('GET', `/apps/${APPS.static}`)).body.app.current_release.image])).stdout.trim());
    assert.ok(size < 20 * 1024 * 1024, `image size ${size}`);
  });

  test('nothing recognisable: the push fails with what was looked for and how to fix it', async () => {
    const wc = await fixture('unrecognised');
    const r = await push(wc, APPS.none);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /hiy does not know how to build this app/);
    assert.match(r.stderr, /a Dockerfile at the root/);
    assert.match(r.stderr, /package\.json \(Node\.js\), requirements\.txt or pyproject\.toml \(Python\), go\.mod \(Go\)/);
    assert.match(r.stderr, /a static\/ folder or an index\.html/);
    assert.match(r.stderr, /add a Dockerfile, or one of those files; a Procfile/);
    assert.equal((await api('GET', `/apps/${APPS.none}/releases`)).body.current, null);
  });
});
