/**
 * Dependency caches end to end (docs/build-strategies.md, "Dependency caches"): a real Express app
 * whose `npm ci` downloads from the registry is pushed to a real hiy, one dependency is added to
 * package.json and the lockfile, and the second build downloads that one package only (npm's own
 * figures: each download is a "(cache miss)" line, cache hits are silent), and npm updates the
 * node_modules the last build left in the app's cache in place ("added 1 package"). After every
 * build the image's node_modules are exactly the lockfile's packages (removed ones gone), a lockfile
 * out of sync with package.json fails as `npm ci` does, and a damaged kept tree is noticed and
 * replaced by a clean install. A second app's pushed
 * Dockerfile names the first app's cache id and finds it empty; the same id outside hiy (a plain
 * BuildKit build) shows it is there, so the isolation is hiy's doing. Destroying the app removes its
 * caches from the engine. Needs an engine where hiy uses BuildKit (cgroupfs driver); otherwise the
 * test says so in its name and is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { BuildkitProgress } from '../../src/runtime/buildkit-progress.js';
import { followProgress } from '../../src/runtime/build-progress.js';
import { appCacheRecords, pruneAppCaches } from '../../src/runtime/docker-caches.js';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker, removeAppImages } from '../../harness/docker.js';
import { curlApp } from '../../harness/app-http.js';
import { DEBIAN_NODE_IMAGE, ensureDebianNodeImage } from '../helpers/debian-images.js';

const id = randomBytes(3).toString('hex');
const A = `dc-a-${id}`;
const B = `dc-b-${id}`;
const MEMORY_MB = 700;
const fixtures = join(repoRoot(), 'tests', 'fixtures');

interface CacheRecord { ID: string; Type: string; Description: string; Size: number }
async function cacheRecords(): Promise<CacheRecord[]> {
  const df = (await new Docker().df()) as { BuildCache?: CacheRecord[] | null };
  return df.BuildCache ?? [];
}
/** A BuildKit build straight through the engine's API, as any client of the engine could run it (no no-cache: BuildKit then ignores cache mounts too). */
async function plainBuildkitBuild(dockerfile: string, tag: string): Promise<string> {
  const tar = pack();
  tar.entry({ name: 'Dockerfile' }, dockerfile);
  tar.finalize();
  const res = (await new Docker().buildImage(tar as never, { t: tag, version: 2 as unknown as '2' })) as unknown as IncomingMessage;
  const lines: string[] = [];
  const outcome = await followProgress(res, new BuildkitProgress((l) => lines.push(l)));
  assert.equal(outcome.error, undefined, lines.join('\n'));
  return lines.join('\n');
}

/** Removes build-cache records by id (what this test made outside hiy's own bookkeeping). */
async function pruneRecords(ids: string[]): Promise<void> {
  for (const rid of ids) await docker(['builder', 'prune', '-f', '--filter', `id=${rid}`]);
}


/** The packages under the image's /app/node_modules (path → version) and the non-dev packages its lockfile lists. */
const TREE_SCRIPT = `
const fs = require('fs'), path = require('path');
const lock = JSON.parse(fs.readFileSync('/app/package-lock.json', 'utf8'));
const want = {};
for (const [k, v] of Object.entries(lock.packages)) if (k.startsWith('node_modules/') && !v.dev) want[k] = v.version;
const have = {};
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === '.bin') continue;
    const p = path.join(d, e.name);
    if (e.name.startsWith('@')) { walk(p); continue; }
    const pj = path.join(p, 'package.json');
    have[path.relative('/app', p)] = fs.existsSync(pj) ? JSON.parse(fs.readFileSync(pj, 'utf8')).version : 'no package.json';
    if (fs.existsSync(path.join(p, 'node_modules'))) walk(path.join(p, 'node_modules'));
  }
};
walk('/app/node_modules');
console.log(JSON.stringify({ want, have }));`;
async function imageTree(app: string, commit: string): Promise<{ want: Record<string, string>; have: Record<string, string> }> {
  const r = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'node', `hiy/${app}:${commit}`, '-e', TREE_SCRIPT]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { want: Record<string, string>; have: Record<string, string> };
}
/** The installed tree is exactly the lockfile's (what a clean `npm ci --omit=dev` installs). */
async function assertTreeIsLockfile(app: string, commit: string): Promise<Record<string, string>> {
  const { want, have } = await imageTree(app, commit);
  assert.ok(Object.keys(want).length >= 60, `the lockfile lists express's packages (${Object.keys(want).length})`);
  assert.deepEqual(have, want, 'node_modules holds exactly the lockfile\'s packages and versions');
  return have;
}

describe('dependency caches survive lockfile changes and stay with their app', { timeout: 900_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const copies: WorkingCopy[] = [];
  const marker = `hiy-dc-${id}`;
  let buildkit = true;
  let cgroupV1 = true;

  before(async () => {
    await ensureDocker();
    await ensureDebianNodeImage();
    const [driver, version] = (await docker(['info', '--format', '{{.CgroupDriver}} {{.CgroupVersion}}'])).stdout.trim().split(' ');
    buildkit = driver === 'cgroupfs';
    cgroupV1 = version === '1';
    hiy = await startHiy({ env: { HIY_IMAGE_NODE: DEBIAN_NODE_IMAGE, HIY_BUILD_MEMORY_MB: String(MEMORY_MB) } });
    api = apiClient(hiy);
    for (const name of [A, B]) assert.equal((await api('POST', '/apps', { name, health_timeout_s: 30, drain_s: 1 })).status, 201);
  });

  after(async () => {
    await hiy?.stop();
    for (const wc of copies) wc.remove();
    for (const app of [A, B]) {
      await cleanupByLabel(`hiy.app=${app}`);
      await removeAppImages(app);
    }
    // Whatever is left of this test's caches: A's by hiy's own folder, B's and the control's by their marker.
    const left = (await cacheRecords()).filter((r) => r.Description.includes(`/var/cache/hiy/${A}/`) || r.Description.includes(marker));
    await pruneRecords(left.map((r) => r.ID));
    await docker(['rmi', '-f', `${marker}:control`, `${marker}:corrupt`]);
  });

  const push = (wc: WorkingCopy, app: string) => wc.push(remoteUrl(hiy.url, app, hiy.token));
  const downloads = (out: string) => out.split('\n').filter((l) => /npm http fetch GET \d+ \S+ .*\(cache (miss|stale|revalidated|updated)\)/.test(l));

  test('adding one dependency downloads that one package, and the app serves with it', async (t) => {
    if (!buildkit) return t.skip('skipped: this engine uses the systemd cgroup driver, where hiy builds without BuildKit (no dependency caches)');
    const wc = await WorkingCopy.fromFixture(join(fixtures, 'express-app'));
    copies.push(wc);
    const first = await push(wc, A);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /\[[a-z0-9-]+ \d+\/\d+\] RUN --mount=type=cache,id=hiy\/[a-z0-9-]+\/npm,target=\/var\/cache\/hiy\/\S+ +set -e;/);
    assert.doesNotMatch(first.stderr, /^remote: +hiy: updating the node_modules/m, 'nothing kept yet: a clean npm ci');
    assert.match(first.stderr, /added 7\d packages/);
    await assertTreeIsLockfile(A, (await wc.git('rev-parse', 'HEAD')).stdout.trim());
    const cold = downloads(first.stderr);
    assert.ok(cold.length >= 60, `the first build downloads express and its dependencies (${cold.length} downloads)`);
    assert.equal((await curlApp(hiy, A, '/')).body, 'express v1\n');

    // One dependency more, in package.json and the lockfile: the install layer is rebuilt.
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(fixtures, 'express-app-v2', f), join(wc.dir, f));
    wc.write('message.txt', 'express v2\n');
    const v2 = await wc.commit('add is-number');
    const second = await push(wc, A);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /^remote: +hiy: updating the node_modules of the last build in place/m);
    assert.match(second.stderr, /added 1 package\b/, 'npm unpacked the one new package into the kept tree');
    const warm = downloads(second.stderr);
    assert.deepEqual(warm.map((l) => /registry\.npmjs\.org\/([^/\s]+)/.exec(l)?.[1]), ['is-number'], `only the new package was downloaded:\n${warm.join('\n')}`);
    assert.equal((await curlApp(hiy, A, '/')).body, 'express v2 is-number(42)=true\n');
    const withOne = await assertTreeIsLockfile(A, v2);
    assert.equal(withOne['node_modules/is-number'], '7.0.0', 'the added dependency is installed');
    assert.equal((await deployEnded(api, A)).status, 'success');
    console.log(`# downloads: first push ${cold.length}, after adding one dependency ${warm.length}`);

    // The steps ran below the engine's BuildKit cgroup, which hiy holds to the build's memory and processes.
    const [memFile, pidsFile] = cgroupV1
      ? ['/sys/fs/cgroup/memory/docker/buildkit/memory.limit_in_bytes', '/sys/fs/cgroup/pids/docker/buildkit/pids.max']
      : ['/sys/fs/cgroup/docker/buildkit/memory.max', '/sys/fs/cgroup/docker/buildkit/pids.max'];
    assert.equal(Number(readFileSync(memFile, 'utf8').trim()), MEMORY_MB * 1024 * 1024);
    assert.equal(readFileSync(pidsFile, 'utf8').trim(), '1024');
    assert.ok((await cacheRecords()).some((r) => r.Type === 'exec.cachemount' && r.Description.startsWith(`cached mount /var/cache/hiy/${A}/npm`)), 'the cache is on the engine');
  });

  test('a removed dependency is gone from the kept tree; an out-of-sync lockfile fails as npm ci does', async (t) => {
    if (!buildkit) return t.skip('skipped: no BuildKit caches on this engine');
    const wc = copies[0]!;
    // Back to express alone (a package.json not built before, so the install layer is not reused): npm removes is-number from the kept tree.
    copyFileSync(join(fixtures, 'express-app', 'package-lock.json'), join(wc.dir, 'package-lock.json'));
    wc.write('package.json', readFileSync(join(fixtures, 'express-app', 'package.json'), 'utf8').replace('"description": "', `"description": "${marker} removed `));
    wc.write('message.txt', 'express v1 again\n');
    const v1 = await wc.commit('remove is-number');
    const r = await push(wc, A);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^remote: +hiy: updating the node_modules of the last build in place/m);
    assert.match(r.stderr, /removed 1 package\b/);
    assert.equal(downloads(r.stderr).length, 0, 'nothing downloaded to remove a package');
    const without = await assertTreeIsLockfile(A, v1);
    assert.equal(without['node_modules/is-number'], undefined, 'the removed dependency is gone from node_modules');
    assert.equal((await curlApp(hiy, A, '/')).body, 'express v1 again\n');

    // package.json names a dependency the lockfile lacks: npm install would add it, npm ci refuses.
    wc.write('package.json', readFileSync(join(fixtures, 'express-app-v2', 'package.json'), 'utf8'));
    await wc.commit('out of sync');
    const bad = await push(wc, A);
    assert.notEqual(bad.code, 0, 'the push fails');
    assert.match(bad.stderr, /^remote: +hiy: npm install over the kept node_modules failed or changed package-lock\.json: clean npm ci/m);
    assert.match(bad.stderr, /can only install packages when your package\.json and package-lock\.json (or npm-shrinkwrap\.json )?are in sync/);
    assert.equal((await curlApp(hiy, A, '/')).body, 'express v1 again\n', 'the running release is untouched');
    copyFileSync(join(fixtures, 'express-app', 'package.json'), join(wc.dir, 'package.json'));
    await wc.commit('in sync again');
  });

  test('another app\'s Dockerfile naming that cache id gets a cache of its own; from= is refused', async (t) => {
    if (!buildkit) return t.skip('skipped: this engine uses the systemd cgroup driver, where hiy builds without BuildKit');
    const probe = (idValue: string) => [
      `FROM ${DEBIAN_NODE_IMAGE}`,
      // The listing is printed in the build output; the step is never cached (the marker + a random line).
      `RUN --mount=type=cache,id=${idValue},target=/c,sharing=locked echo "${marker} $(date +%s%N) files: $(find /c -type f | wc -l)"; cat /proc/self/cgroup | grep -m1 memory`,
      'CMD ["node", "-e", "require(\'http\').createServer((q, s) => s.end(\'probe\\\\n\')).listen(process.env.PORT)"]',
      '',
    ].join('\n');
    // Control first: the very same id, outside hiy (a plain BuildKit build), does reach A's npm
    // cache, so the empty listing below is hiy's isolation, not an empty cache.
    const control = await plainBuildkitBuild(probe(`hiy/${A}/npm`), `${marker}:control`);
    const seen = Number(new RegExp(`${marker} \\d+ files: (\\d+)`).exec(control)?.[1]);
    assert.ok(seen > 0, `the cache id outside hiy holds A's npm cache (${seen} files)`);

    const wc = await WorkingCopy.fromFixture(join(fixtures, 'express-app'));
    copies.push(wc);
    wc.write('Dockerfile', probe(`hiy/${A}/npm`));
    await wc.commit('probe');
    const r = await push(wc, B);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`RUN --mount=type=cache,target=/c,sharing=locked,id=hiy/${B}/hiy/${A}/npm `), 'the id was moved into the app\'s namespace');
    assert.match(r.stderr, new RegExp(`${marker} \\d+ files: 0\\b`), 'nothing of the other app\'s cache is visible');
    if (cgroupV1) assert.match(r.stderr, /memory:\/docker\/buildkit\//, 'the step ran below the bounded BuildKit cgroup');

    wc.write('Dockerfile', `FROM ${DEBIAN_NODE_IMAGE}\nRUN --mount=type=cache,target=/c,from=hiy/${A}:latest ls /c\n`);
    await wc.commit('seeded from another image');
    const refused = await push(wc, B);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /hiy does not allow from= or source= on cache mounts/);
  });

  test('a corrupted cache fails safe: the damaged tree is replaced by a clean install, npm downloads again, and the build works', async (t) => {
    if (!buildkit) return t.skip('skipped: no BuildKit caches on this engine');
    const wc = copies[0]!;
    // Each push gets a package.json not built before (so the install layer is not reused).
    const pushExpress = async (note: string, message: string) => {
      copyFileSync(join(fixtures, 'express-app', 'package-lock.json'), join(wc.dir, 'package-lock.json'));
      wc.write('package.json', readFileSync(join(fixtures, 'express-app', 'package.json'), 'utf8').replace('"description": "', `"description": "${marker} ${note} `));
      wc.write('message.txt', `${message}\n`);
      await wc.commit(note);
      const r = await push(wc, A);
      assert.equal(r.code, 0, r.stderr);
      return r.stderr;
    };
    await pushExpress('fill', 'express v3'); // the cache holds express's packages (again, if anything emptied it)
    // Every stored package overwritten, through the raw engine (as a disk fault would).
    const out = await plainBuildkitBuild([
      `FROM ${DEBIAN_NODE_IMAGE}`,
      // npm's stored packages and every file of the kept node_modules (not hiy's stamp and checksums).
      `RUN --mount=type=cache,id=hiy/${A}/npm,target=/c,sharing=locked find /c -type f \\( -path '*content-v2*' -o -path '*/node_modules/*' \\) -exec sh -c 'echo garbage > "$1"' _ {} \\; ; echo "${marker} $(date +%s%N) corrupted: $(find /c -path '*content-v2*' -type f | wc -l) kept: $(find /c -path '*/hiy-node_modules-prod/node_modules/*' -type f | wc -l)"`,
      '',
    ].join('\n'), `${marker}:corrupt`);
    const corrupted = Number(new RegExp(`${marker} \\d+ corrupted: (\\d+)`).exec(out)?.[1]);
    assert.ok(corrupted >= 60, `the cache held the packages (${corrupted} files overwritten)`);
    const kept = Number(new RegExp(`${marker} \\d+ corrupted: \\d+ kept: (\\d+)`).exec(out)?.[1]);
    assert.ok(kept >= 60, `the cache held the last build's node_modules (${kept} files overwritten)`);
    const after = await pushExpress('after', 'express v4');
    assert.match(after, /^remote: +hiy: the kept node_modules are not what the last build left/m, 'the damaged tree is noticed');
    assert.doesNotMatch(after, /^remote: +hiy: updating the node_modules/m);
    assert.ok(downloads(after).length >= 60, `the damaged packages were downloaded again (${downloads(after).length})`);
    assert.equal((await curlApp(hiy, A, '/')).body, 'express v4\n');
    await assertTreeIsLockfile(A, (await wc.git('rev-parse', 'HEAD')).stdout.trim());
  });

  test('destroying the app removes its caches from the engine', async (t) => {
    if (!buildkit) return t.skip('skipped: no BuildKit caches on this engine');
    const res = await api('DELETE', `/apps/${A}`);
    assert.ok(res.status >= 200 && res.status < 300, JSON.stringify(res.body));
    const left = (await cacheRecords()).filter((r) => r.Description.startsWith(`cached mount /var/cache/hiy/${A}/`));
    assert.deepEqual(left, [], 'no cache of the destroyed app is left');
  });

  test('a cache past its bound is removed (HIY_BUILD_CACHE_MB), one within it stays', async (t) => {
    if (!buildkit) return t.skip('skipped: no BuildKit caches on this engine');
    const app = `dc-c-${id}`;
    const engine = new Docker();
    // A 2 MB cache where hiy's generated builds keep app's caches.
    await plainBuildkitBuild([
      `FROM ${DEBIAN_NODE_IMAGE}`,
      `RUN --mount=type=cache,id=hiy/${app}/npm,target=/var/cache/hiy/${app}/npm,sharing=locked head -c 2097152 /dev/urandom > /var/cache/hiy/${app}/npm/blob; echo ${marker} $(date +%s%N)`,
      '',
    ].join('\n'), `${marker}:bound`);
    try {
      const records = await appCacheRecords(engine, app);
      assert.equal(records.length, 1);
      assert.ok(records[0]!.size >= 2_000_000, `the cache holds the 2 MB (${records[0]!.size} bytes)`);
      assert.equal(await pruneAppCaches(engine, app, 4 * 1024 * 1024), 0, 'within the bound: nothing removed');
      assert.equal((await appCacheRecords(engine, app)).length, 1);
      const freed = await pruneAppCaches(engine, app, 1024 * 1024);
      assert.deepEqual(await appCacheRecords(engine, app), [], 'past the bound: removed');
      console.log(`# a 2 MB cache over a 1 MB bound: ${freed} bytes freed`);
    } finally {
      await pruneRecords((await appCacheRecords(engine, app)).map((r) => r.id));
      await docker(['rmi', '-f', `${marker}:bound`]);
    }
  });
});
