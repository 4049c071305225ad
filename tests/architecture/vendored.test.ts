/**
 * `npm run build` joins the many-file ES-module packages of scripts/vendored.json into dist/vendor
 * (scripts/vendor-deps.mjs) and points the compiled imports at them. One compiled file still
 * naming such a package would load a second copy from node_modules: hundreds of modules more in
 * hiy's idle memory and, for hono, a second set of classes (HTTPException, the JSX nodes).
 * Also: every vendored entry loads, and exports what the package itself exports.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { repoRoot } from '../../harness/paths.js';

const root = repoRoot();
const dist = join(root, 'dist');
const vendored: string[] = JSON.parse(readFileSync(join(root, 'scripts', 'vendored.json'), 'utf8'));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (p === join(dist, 'vendor') || p === join(dist, 'cli')) return [];
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.js') ? [p] : [];
  });
}

test('no compiled file imports a vendored package from node_modules', () => {
  const quoted = new RegExp(`(['"])(${vendored.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(/[^'"]*)?\\1`);
  const offenders = walk(dist).filter((f) => quoted.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(offenders, [], 'these files still name a vendored package: run `npm run build` (scripts/vendor-deps.mjs), or look at why its import was not rewritten');
});

test('each vendored entry exports what its package exports', async () => {
  const specs: string[] = JSON.parse(readFileSync(join(dist, 'vendor', 'specifiers.json'), 'utf8'));
  for (const p of vendored) assert.ok(specs.includes(p), `${p} is vendored (${specs.join(', ')})`);
  for (const spec of specs) {
    const file = join(dist, 'vendor', `${spec.replace(/^@/, '').replaceAll('/', '__')}.js`);
    const joined = Object.keys(await import(pathToFileURL(file).href)).sort();
    const original = Object.keys(await import(spec)).sort();
    assert.deepEqual(joined, original, `${spec}: dist/vendor exports the same names`);
  }
});
