import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HiyError } from '../errors.js';
import { detect, GENERATED_DOCKERFILE, type SourceTree } from './detect.js';
import { goBinaryName } from './dockerfiles.js';
import { DEFAULT_BUILD_IMAGES, imagesForApp, parseAppBuildImages } from '../base-images.js';
import { parseProcfile, shellCommand, workerTypes } from './procfile.js';

const IMAGES = { ...DEFAULT_BUILD_IMAGES, node: 'local/node:1', python: 'local/py:1', go: 'local/go:1', goRuntime: 'local/run:1', static: 'local/bb:1' };

function tree(files: Record<string, string>, dirs: string[] = []): SourceTree {
  const paths = new Set([...Object.keys(files), ...dirs]);
  return { paths, files: new Map(Object.entries(files).filter(([k]) => ['Procfile', 'package.json', 'requirements.txt', 'go.mod'].includes(k))) };
}

const plan = (t: SourceTree, dockerfilePath: string | null = null, cacheMounts = false) => detect(t, { images: IMAGES, dockerfilePath, app: 'shop', cacheMounts });
const failsWith = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof HiyError && e.code === 'build_failed' && pattern.test(e.message));

/** The lines of one stage of a Dockerfile (stages start at FROM). */
function stages(dockerfile: string): string[][] {
  const out: string[][] = [];
  for (const line of dockerfile.split('\n')) {
    if (line.startsWith('FROM ')) out.push([]);
    if (line && !line.startsWith('#')) out.at(-1)?.push(line);
  }
  return out;
}

describe('build strategy detection', { timeout: 10_000 }, () => {
  test('a root Dockerfile wins over everything, and the Procfile still gives the process types', () => {
    const p = plan(tree({ Dockerfile: 'FROM x', 'package.json': '{}', 'index.html': '', Procfile: 'web: ./serve\nworker: ./work' }));
    assert.equal(p.strategy, 'dockerfile');
    assert.equal(p.label, 'Dockerfile');
    assert.equal(p.dockerfilePath, 'Dockerfile');
    assert.equal(p.generated, undefined);
    assert.deepEqual(p.processes, { web: './serve', worker: './work' });
  });

  test('the app\'s dockerfile_path is used, and a missing one fails clearly', () => {
    const p = plan(tree({ 'docker/web.Dockerfile': 'FROM x', 'package.json': '{"scripts":{"start":"x"}}' }), 'docker/web.Dockerfile');
    assert.equal(p.strategy, 'dockerfile');
    assert.equal(p.dockerfilePath, 'docker/web.Dockerfile');
    failsWith(() => plan(tree({ Dockerfile: 'FROM x' }), 'docker/web.Dockerfile'), /dockerfile_path is docker\/web\.Dockerfile, but the pushed tree has no such file/);
  });

  test('Node: lockfile → npm ci in its own stage from the manifests alone; runs as a non-root user', () => {
    const p = plan(tree({ 'package.json': '{"scripts":{"start":"node server.js"}}', 'package-lock.json': '{}', 'server.js': '' }));
    assert.equal(p.strategy, 'node');
    assert.equal(p.label, 'Node.js app');
    assert.equal(p.dockerfilePath, GENERATED_DOCKERFILE);
    const [deps, final] = stages(p.generated ?? '');
    assert.deepEqual(deps?.slice(0, 2), ['FROM local/node:1 AS deps', 'WORKDIR /app']);
    // The install step sees nothing but the manifests: a code change keeps its cache.
    assert.ok(deps?.includes('COPY package.json package-lock.json ./'));
    assert.ok(deps?.includes('RUN npm ci --omit=dev'));
    assert.ok(!deps?.some((l) => l.startsWith('COPY . ')));
    assert.equal(final?.[0], 'FROM local/node:1');
    assert.ok(final?.includes('COPY --from=deps --chown=10001:10001 /app /app'));
    assert.ok(final?.includes('USER 10001:10001'));
    assert.equal(final?.at(-1), 'CMD ["npm","start","--silent"]');
    assert.ok(final!.indexOf('COPY --chown=10001:10001 . .') > final!.indexOf('COPY --from=deps --chown=10001:10001 /app /app'));
  });

  test('Node: a build script gets a build stage with dev dependencies, pruned afterwards; no lockfile → npm install', () => {
    const p = plan(tree({ 'package.json': '{"scripts":{"start":"node dist/a.js","build":"tsc"}}' }));
    const [deps, build, final] = stages(p.generated ?? '');
    assert.ok(deps?.includes('COPY package.json ./'));
    assert.ok(deps?.includes('RUN npm install'));
    assert.deepEqual(build, ['FROM deps AS build', 'COPY . .', 'RUN npm run build && npm prune --omit=dev']);
    assert.ok(final?.includes('COPY --from=build --chown=10001:10001 /app /app'));
    assert.match(p.notes.join('\n'), /no package-lock\.json/);
  });

  test('Node: the Procfile web command wins over npm start; no start at all fails with the fix', () => {
    const p = plan(tree({ 'package.json': '{}', Procfile: 'web: node web.js\nworker: node worker.js\nrelease: node migrate.js' }));
    assert.match(p.generated ?? '', /^CMD \["\/bin\/sh","-c","exec node web\.js"\]$/m);
    assert.deepEqual(workerTypes(p.processes), ['worker']);
    failsWith(() => plan(tree({ 'package.json': '{"name":"x"}' })), /add a "start" script to package\.json, a server\.js \(what npm start runs without one\), or a Procfile with a web: line/);
    // Heroku's default: npm start runs node server.js when there is no start script.
    const bare = plan(tree({ 'package.json': '{"name":"x"}', 'server.js': '' }));
    assert.equal(stages(bare.generated ?? '').at(-1)?.at(-1), 'CMD ["npm","start","--silent"]');
    assert.ok(bare.notes.includes('no "start" script: npm start runs node server.js'));
    failsWith(() => plan(tree({ 'package.json': '{nope' })), /package\.json is not valid JSON/);
  });

  test('Python: requirements install in their own stage; an empty requirements.txt installs nothing; web from the Procfile', () => {
    const withReqs = plan(tree({ 'requirements.txt': 'gunicorn==22.0\n', Procfile: 'web: gunicorn app:app' }));
    assert.equal(withReqs.label, 'Python app');
    const [deps, final] = stages(withReqs.generated ?? '');
    assert.ok(deps?.includes('COPY requirements.txt ./'));
    assert.ok(deps?.includes('RUN python -m pip install --prefix=/install -r requirements.txt'));
    assert.ok(final?.includes('COPY --from=deps /install /usr/local'));
    assert.ok(final?.includes('USER 10001:10001'));
    assert.equal(final?.at(-1), 'CMD ["/bin/sh","-c","exec gunicorn app:app"]');

    const empty = plan(tree({ 'requirements.txt': '# none\n\n', Procfile: 'web: python3 -m http.server $PORT' }));
    const only = stages(empty.generated ?? '');
    assert.equal(only.length, 1);
    assert.ok(!(empty.generated ?? '').includes('pip install'));
    assert.match(empty.notes.join('\n'), /lists no packages/);
    assert.match(empty.generated ?? '', /exec python3 -m http\.server \$PORT/);

    const pyproject = plan(tree({ 'pyproject.toml': '', Procfile: 'web: x' }, []));
    assert.match(pyproject.generated ?? '', /pip install --prefix=\/install \.$/m);
    failsWith(() => plan(tree({ 'requirements.txt': 'flask' })), /Python app without a web command: add a Procfile/);
  });

  test('Go: module download in its own layer, a static binary on a small runtime image, named after the module', () => {
    const p = plan(tree({ 'go.mod': 'module example.com/me/hello/v2\n\ngo 1.23\n', 'go.sum': '', 'main.go': '' }));
    assert.equal(p.label, 'Go app');
    const [build, final] = stages(p.generated ?? '');
    assert.deepEqual(build?.slice(0, 5), ['FROM local/go:1 AS build', 'WORKDIR /src', 'ENV CGO_ENABLED=0 GOFLAGS=-trimpath', 'COPY go.mod go.sum ./', 'RUN go mod download']);
    assert.ok(build!.indexOf('COPY . .') > build!.indexOf('RUN go mod download'));
    assert.equal(final?.[0], 'FROM local/run:1');
    assert.ok(final?.includes('USER 10001:10001'));
    assert.equal(final?.at(-1), 'CMD ["/app/bin/hello"]');
    assert.equal(goBinaryName('module "github.com/a/b"'), 'b');
    assert.equal(goBinaryName('nothing here'), 'app');
    // 262,000 blank lines and no module line: quadratic with a multiline regex, linear here.
    const t0 = performance.now();
    assert.equal(goBinaryName('\n'.repeat(262_000)), 'app');
    assert.equal(goBinaryName(`${'\n'.repeat(262_000)}module x.org/late\n`), 'late');
    assert.ok(performance.now() - t0 < 1000);
    assert.match(plan(tree({ 'go.mod': 'module x' })).generated ?? '', /COPY go\.mod \.\//);
  });

  test('static sites: static/ or a root index.html, served by busybox httpd on $PORT as a non-root user', () => {
    const s = plan(tree({ 'static/index.html': '' }, ['static']));
    assert.equal(s.label, 'static site');
    assert.match(s.generated ?? '', /^COPY --chown=10001:10001 static\/ \/www\/$/m);
    assert.match(s.generated ?? '', /httpd -f -v -p \\"\$PORT\\" -h \/www/);
    assert.match(s.generated ?? '', /^FROM local\/bb:1$/m);
    assert.match(plan(tree({ 'index.html': '' })).generated ?? '', /^COPY --chown=10001:10001 \. \/www\/$/m);
    // An empty static/ is not a site.
    failsWith(() => plan(tree({ 'README.md': '' }, ['static'])), /does not know how to build/);
  });

  test('nothing recognisable: the message lists what was looked for and how to fix it', () => {
    failsWith(() => plan(tree({ 'README.md': '', 'main.rs': '' })), /looked for, in this order:[\s\S]*Dockerfile[\s\S]*package\.json \(Node\.js\), requirements\.txt or pyproject\.toml \(Python\), go\.mod \(Go\)[\s\S]*static\/ folder or an index\.html[\s\S]*add a Dockerfile[\s\S]*Procfile/);
  });
});

describe('dependency caches in generated builds', { timeout: 10_000 }, () => {
  test('Node: the install mounts the app\'s own npm cache and keeps node_modules there, when the builder offers cache mounts', () => {
    const p = plan(tree({ 'package.json': '{"scripts":{"start":"x"}}', 'package-lock.json': '{}' }), null, true);
    assert.equal(p.buildkit, true);
    assert.match(p.generated ?? '', /^RUN --mount=type=cache,id=hiy\/shop\/npm,target=\/var\/cache\/hiy\/shop\/npm,sharing=locked \\$/m);
    assert.match(p.generated ?? '', /npm ci --omit=dev --prefer-offline --cache=\/var\/cache\/hiy\/shop\/npm --loglevel=http; \\$/m);
    assert.match(p.generated ?? '', /T=\/var\/cache\/hiy\/shop\/npm\/hiy-node_modules-prod;/);
    // Nothing to build: the install runs in the final image (one FROM), the tree is the app user's.
    assert.equal((p.generated ?? '').match(/^FROM /gm)?.length, 1);
    assert.match(p.generated ?? '', /cp -a node_modules \/app\/; \\\n +chown -R 10001:10001 \/app\/node_modules\n/);
    assert.doesNotMatch(p.generated ?? '', /^ENV .*NPM_CONFIG_LOGLEVEL/m, 'npm\'s install settings do not reach the app\'s environment');
    // A build script keeps the deps stage (devDependencies for the build), with its own kept tree.
    const built = plan(tree({ 'package.json': '{"scripts":{"start":"x","build":"y"}}', 'package-lock.json': '{}' }), null, true);
    assert.match(built.generated ?? '', /^FROM \S+ AS deps$/m);
    assert.match(built.generated ?? '', /T=\/var\/cache\/hiy\/shop\/npm\/hiy-node_modules-all;/);
    assert.match(built.generated ?? '', /^COPY --from=build --chown=10001:10001 \/app \/app$/m);
    // No lockfile: nothing to keep a tree equal to, npm install resolves afresh with the download cache.
    const noLock = plan(tree({ 'package.json': '{"scripts":{"start":"x"}}' }), null, true);
    assert.match(noLock.generated ?? '', /^RUN --mount=type=cache,id=hiy\/shop\/npm,target=\/var\/cache\/hiy\/shop\/npm,sharing=locked npm install --omit=dev --prefer-offline --cache=\/var\/cache\/hiy\/shop\/npm --loglevel=http$/m);
    assert.doesNotMatch(noLock.generated ?? '', /hiy-node_modules/);
    const without = plan(tree({ 'package.json': '{"scripts":{"start":"x"}}', 'package-lock.json': '{}' }));
    assert.equal(without.buildkit, false);
    assert.match(without.generated ?? '', /^RUN npm ci --omit=dev$/m);
  });

  test('Python: pip keeps its cache in the app\'s cache mount instead of turning it off', () => {
    const p = plan(tree({ 'requirements.txt': 'flask\n', Procfile: 'web: x' }), null, true);
    assert.equal(p.buildkit, true);
    assert.match(p.generated ?? '', /^RUN --mount=type=cache,id=hiy\/shop\/pip,target=\/var\/cache\/hiy\/shop\/pip,sharing=locked python -m pip install --cache-dir=\/var\/cache\/hiy\/shop\/pip --prefix=\/install -r requirements.txt$/m);
    assert.doesNotMatch(p.generated ?? '', /PIP_NO_CACHE_DIR/);
    assert.match(plan(tree({ 'requirements.txt': 'flask\n', Procfile: 'web: x' })).generated ?? '', /PIP_NO_CACHE_DIR=1/);
  });

  test('a build with nothing to install, and a pushed Dockerfile without --mount, stay on the classic builder', () => {
    assert.equal(plan(tree({ 'requirements.txt': '# nothing\n', Procfile: 'web: x' }), null, true).buildkit, false);
    assert.equal(plan(tree({ Dockerfile: 'FROM x' }), null, true).buildkit, false);
  });
});

describe('Procfile', { timeout: 10_000 }, () => {
  test('parses types and commands, skipping comments and blank lines', () => {
    assert.deepEqual(parseProcfile('# hi\nweb: node a.js --port $PORT\n\nWorker :  node w.js\r\nrelease: ./migrate'), { web: 'node a.js --port $PORT', worker: 'node w.js', release: './migrate' });
  });
  test('refuses bad lines and duplicates with the line number', () => {
    assert.throws(() => parseProcfile('web node a.js'), /Procfile line 1 is not/);
    assert.throws(() => parseProcfile('web: a\nweb: b'), /defines "web" twice \(line 2\)/);
    assert.throws(() => parseProcfile('we$b: a'), /line 1/);
  });
  test('plain commands are exec\'d so signals reach the app; shell constructs are left to sh', () => {
    assert.deepEqual(shellCommand('node a.js $PORT'), ['/bin/sh', '-c', 'exec node a.js $PORT']);
    assert.deepEqual(shellCommand('cd x && node a'), ['/bin/sh', '-c', 'cd x && node a']);
    assert.deepEqual(shellCommand('a | b'), ['/bin/sh', '-c', 'a | b']);
  });
});

describe('build images', { timeout: 10_000 }, () => {
  test('an app\'s own images override the global ones; junk is refused', () => {
    assert.deepEqual(imagesForApp(IMAGES, '{"node":"mine/node:2"}').node, 'mine/node:2');
    assert.equal(imagesForApp(IMAGES, '{"node":"mine/node:2"}').python, 'local/py:1');
    assert.equal(imagesForApp(IMAGES, null), IMAGES);
    assert.throws(() => parseAppBuildImages({ ruby: 'x' }), /unknown key "ruby"/);
    assert.throws(() => parseAppBuildImages({ node: 'node:1\nRUN evil' }), /not an image reference/);
    assert.throws(() => parseAppBuildImages(['node']), /must be an object/);
    assert.deepEqual(parseAppBuildImages({ node: 'registry.local:5000/node:22-slim', static: 'busybox@sha256:' + 'a'.repeat(64) }),
      { node: 'registry.local:5000/node:22-slim', static: 'busybox@sha256:' + 'a'.repeat(64) });
  });
});
