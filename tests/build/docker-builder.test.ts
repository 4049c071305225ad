import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { buildRelease, type BuildRequest } from '../../src/build/build.js';
import { DEFAULT_BUILD_IMAGES } from '../../src/base-images.js';
import { HiyError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createDockerEngine, type Engine } from '../../src/runtime/docker-engine.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { cleanupByLabel, docker, dockerInspect, ensureDocker, httpGet, testRun, waitForHttp } from '../../harness/docker.js';
import { WorkingCopy } from '../../harness/git.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { repoRoot } from '../../harness/paths.js';
import { freePorts } from '../../harness/ports.js';

const run = testRun();
const APP = `bld-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `git archive --format=tar HEAD` of a working copy, as the pre-receive hook sends it. */
function archive(wc: WorkingCopy): Readable {
  const child = spawn('git', ['archive', '--format=tar', 'HEAD'], { cwd: wc.dir, stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

async function tarOf(entries: { name: string; type?: 'file' | 'symlink'; linkname?: string; content?: string }[]): Promise<Readable> {
  const p = pack();
  for (const { content, ...h } of entries) p.entry({ mode: 0o644, ...h }, content ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

const buildFailed = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof HiyError, String(e));
  assert.equal(e.code, 'build_failed');
  assert.match(e.message, pattern);
  return true;
};

describe('Docker builder against the real engine', { timeout: 300_000 }, () => {
  let engine: Engine;
  let rt: Runtime;
  let wc: WorkingCopy;
  const build = (over: Partial<BuildRequest> & { source: Readable }, lines: string[] = []) => buildRelease({ builder: engine.builder, log: createLogger('silent') }, {
    app: APP, deployId: 1, sha: randomBytes(20).toString('hex'), memoryMb: 256, timeoutSec: 120, images: DEFAULT_BUILD_IMAGES, dockerfilePath: null, onOutput: (l) => lines.push(l), ...over,
  });

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    engine = createDockerEngine(createLogger('silent'), { labels: run.labels });
    rt = engine.runtime;
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  });
  after(async () => {
    wc?.remove();
    await cleanupByLabel(run.label);
  });

  test('the fixture builds from git archive, runs hardened and serves; .dockerignore is honoured', async (t) => {
    wc.write('www/index.html', `hello ${APP}\n`);
    const sha = await wc.commit('body');
    const lines: string[] = [];
    const { image } = await build({ sha, source: archive(wc) }, lines);
    assert.equal(image, `hiy/${APP}:${sha}`);
    assert.ok(lines.some((l) => /^Step 1\/\d+ : FROM hiy-test\/busybox:1$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /Successfully tagged/.test(l)));
    const img = await dockerInspect(image);
    // hiy adds no labels (each costs a build step); its images are known by the hiy/<app> name.
    assert.equal(img.Config.Labels?.['hiy.app'], undefined);
    assert.equal(img.Config.Labels?.['hiy.deploy'], undefined);
    assert.ok(lines.every((l) => !/LABEL hiy\.(app|managed|deploy)=/.test(l)), 'hiy adds no LABEL steps');

    // Cached rebuild + run + first 200: the figure the push-to-live budget is made of.
    const t0 = Date.now();
    await build({ sha, source: archive(wc) });
    const t1 = Date.now();
    const [port] = await freePorts(1);
    const c = await rt.run({ name: `hiy-${APP}-${randomBytes(4).toString('hex')}`, image, app: APP, env: { PORT: '8080' }, containerPort: 8080, hostPort: port!, memoryMb: 64, cpus: 0.5 });
    const t2 = Date.now();
    const res = await waitForHttp(`http://127.0.0.1:${port}/`);
    const t3 = Date.now();
    assert.deepEqual(res, { status: 200, body: `hello ${APP}\n` });
    t.diagnostic(`cached build ${t1 - t0} ms + run ${t2 - t1} ms + first 200 ${t3 - t2} ms = ${t3 - t0} ms`);

    // .dockerignore: www/drafts/ is left out except the re-included file.
    assert.equal((await httpGet(`http://127.0.0.1:${port}/drafts/secret.html`)).status, 404);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/drafts/published.html`)).body, 'published draft\n');
    const ls = await docker(['run', '--rm', '--label', 'hiy.test=1', image, 'find', '/www']);
    assert.doesNotMatch(ls.stdout, /secret\.html/);
    await rt.remove(c.name);
  });

  test('a failing RUN step fails the build with the step and the engine message', async () => {
    // The echo names this run's app, so the step is never a cache hit (those print nothing).
    wc.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN echo about to fail ${APP}\nRUN false\n`);
    const sha = await wc.commit('broken');
    const lines: string[] = [];
    await assert.rejects(build({ sha, source: archive(wc) }, lines), buildFailed(/Step 3\/\d+ : RUN false failed: The command '\/bin\/sh -c false' returned a non-zero code: 1/));
    assert.ok(lines.includes(`about to fail ${APP}`), `the RUN output was streamed: ${lines.join('\n')}`);
    assert.equal((await docker(['image', 'inspect', `hiy/${APP}:${sha}`])).code, 1, 'no image was tagged');
  });

  test('a missing base image fails fast and says so, without a long pull', async () => {
    wc.write('Dockerfile', 'FROM hiy-test/does-not-exist:1\nRUN true\n');
    const sha = await wc.commit('no base');
    const t0 = Date.now();
    await assert.rejects(build({ sha, source: archive(wc) }), buildFailed(/base image hiy-test\/does-not-exist:1 is not on this engine/));
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
  });

  test('nothing recognisable: build_failed saying what is looked for', async () => {
    await assert.rejects(build({ source: await tarOf([{ name: 'app.js', content: 'x' }]) }), buildFailed(/does not know how to build this app/));
  });

  test('archives with ../ paths or escaping symlinks are refused before the engine sees them', async () => {
    const df = { name: 'Dockerfile', content: 'FROM hiy-test/busybox:1\nCOPY . /app\n' };
    await assert.rejects(build({ source: await tarOf([df, { name: '../evil', content: 'x' }]) }), buildFailed(/refused: path "..\/evil" leaves the source tree/));
    await assert.rejects(build({ source: await tarOf([df, { name: 'etc', type: 'symlink', linkname: '../../../etc' }]) }), buildFailed(/refused: symlink etc points outside/));
  });

  test('the time limit stops a RUN sleep 60 build within seconds, and the engine stops it too', async () => {
    wc.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN echo sleeping ${APP} && sleep 60\n`);
    const sha = await wc.commit('slow');
    const lines: string[] = [];
    const t0 = Date.now();
    // 8 s, not less: on a loaded 2-core box the context check and the RUN container's start
    // alone took over 3 s, and the test then never saw the step's output.
    await assert.rejects(build({ sha, source: archive(wc), timeoutSec: 8 }, lines), buildFailed(/the build took longer than 8 s and was stopped/));
    const took = Date.now() - t0;
    assert.ok(took >= 7900 && took < 13000, `took ${took} ms`);
    assert.ok(lines.includes(`sleeping ${APP}`), lines.join('\n'));
    // The engine cancels the build when the client goes away: the RUN container disappears.
    let left = '';
    for (let i = 0; i < 100; i++) {
      left = (await docker(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}}'])).stdout.split('\n').filter((l) => l.includes(`sleeping ${APP}`)).join('\n');
      if (!left) break;
      await sleep(100);
    }
    assert.equal(left, '', 'the build container was stopped and removed');
  });

  test('the caller can cancel a build through its signal', async () => {
    wc.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN echo cancel-me ${APP} && sleep 60\n`);
    const sha = await wc.commit('cancel');
    const ac = new AbortController();
    const lines: string[] = [];
    const p = build({ sha, source: archive(wc), signal: ac.signal, onOutput: (l) => { lines.push(l); if (l.startsWith('cancel-me')) ac.abort(); } });
    await assert.rejects(p, buildFailed(/the build was cancelled/));
  });

  test('build memory is bounded: a RUN step that allocates past the limit fails', async () => {
    // A 200 MB shell variable: exit 137 under a 32 MB limit (measured: it succeeds with 1 GB).
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nRUN x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo ${#x}\n');
    const sha = await wc.commit('memory hog');
    await assert.rejects(build({ sha, source: archive(wc), memoryMb: 32 }), buildFailed(/returned a non-zero code: 137/));
  });
});
