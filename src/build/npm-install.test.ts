import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keptTreeDir, npmInstallStep } from './npm-install.js';

const step = (omitDev: boolean, lockfile = 'package-lock.json') => npmInstallStep({ mount: '--mount=type=cache,id=hiy/shop/npm,target=/c', cacheDir: '/c', lockfile, omitDev });
/** The shell the RUN step runs: the continuation lines joined as the Dockerfile parser joins them. */
const shell = (s: string) => s.replace(/ \\\n\s*/g, ' ');

describe('the install step that keeps node_modules in the app\'s cache (npm-install.ts)', { timeout: 10_000 }, () => {
  test('a tree is trusted only with its stamp and checksums, which are removed before npm runs and written after it succeeded', () => {
    const s = shell(step(true));
    const at = (needle: string) => { const i = s.indexOf(needle); assert.ok(i >= 0, needle); return i; };
    assert.ok(at('set -e;') < at('rm -f "$T/stamp" "$T/sums"'));
    assert.ok(at('rm -f "$T/stamp" "$T/sums"') < at('npm install --omit=dev'));
    assert.ok(at('npm install --omit=dev') < at('sums > sums'));
    assert.ok(at('sums > sums') < at('echo "$K" > stamp'));
    assert.ok(at('echo "$K" > stamp') < at('cp -a node_modules /app/'));
    assert.match(s, /\[ "\$\(sums\)" = "\$\(cat "\$T\/sums"\)" \]/, 'the kept tree is compared file by file with what the last build left');
  });

  test('npm install that fails or changes the lockfile falls back to a clean npm ci of the pushed lockfile', () => {
    const s = shell(step(true, 'npm-shrinkwrap.json'));
    assert.match(s, /npm install [^;]*&& \[ "\$\(cat npm-shrinkwrap\.json\)" = "\$\(cat \/app\/npm-shrinkwrap\.json\)" \]; then :; elif \[ -d node_modules \]; then echo "[^"]*"; rm -rf node_modules; cp \/app\/npm-shrinkwrap\.json npm-shrinkwrap\.json; npm ci /);
  });

  test('with devDependencies (a build script) the tree is another folder and nothing is omitted', () => {
    assert.notEqual(keptTreeDir('/c', true), keptTreeDir('/c', false));
    const s = shell(step(false));
    assert.match(s, /T=\/c\/hiy-node_modules-all;/);
    assert.doesNotMatch(s, /--omit=dev/);
    assert.match(s, / all"; /, 'the stamp names the install mode');
  });
});
