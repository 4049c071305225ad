#!/usr/bin/env node
// Joins the ES-module dependencies that ship as hundreds of small files into a few files under
// dist/vendor/, and points the compiled code's imports at them. `npm run build` runs this after tsc.
//
// Why: Node keeps every loaded ES module's record, source and wrapper for the life of the process.
// kysely alone is 263 modules, hono 52, age-encryption with @noble 56: together they cost hiy
// about 8 MB of its idle RSS (node dist/bench/idle-memory.js: 80.0 MB worst → 72.2 MB), on a
// control plane whose budget is 80 MB. The libraries are the same, only joined: one esbuild run
// with code splitting, one entry per import path hiy uses, so hono's subpaths share one copy of
// hono's internals (a second copy would make two HTTPException classes).
//
// The compiled files' import specifiers are rewritten in place ('kysely' → '../vendor/kysely.js');
// tests run the same rewritten dist as production. tests/architecture/vendored.test.ts fails when a
// compiled file still names a vendored package (a second copy would load from node_modules).
// The list of packages is scripts/vendored.json.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
/** Packages joined into dist/vendor (pure ES modules, many files). Others stay in node_modules. */
const VENDORED = JSON.parse(readFileSync(join(root, 'scripts', 'vendored.json'), 'utf8'));
const dist = join(root, 'dist');
const vendorDir = join(dist, 'vendor');
// dist/cli is the laptop CLI, already one self-contained file (bundle-cli.mjs).
const skip = new Set([vendorDir, join(dist, 'cli')]);

const isVendored = (spec) => VENDORED.some((p) => spec === p || spec.startsWith(`${p}/`));
/** A specifier's file in dist/vendor: 'hono/jsx/jsx-runtime' → hono__jsx__jsx-runtime.js. */
const vendorFile = (spec) => join(vendorDir, `${spec.replace(/^@/, '').replaceAll('/', '__')}.js`);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (skip.has(p)) return [];
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.js') ? [p] : [];
  });
}

// tsc emits one import or export per line, starting the line: `import … from 'x';`,
// `export … from 'x';`, `import 'x';`; lazy loads are `import('x')` with a literal.
const STATIC = /^((?:import|export)\b[^'"\n]*?\bfrom\s*|import\s*)(['"])([^'"\n]+)\2/gm;
const DYNAMIC = /(\bimport\(\s*)(['"])([^'"\n]+)\2(\s*\))/g;

const files = walk(dist);
const specs = new Set();
for (const f of files) {
  const s = readFileSync(f, 'utf8');
  for (const m of s.matchAll(STATIC)) if (isVendored(m[3])) specs.add(m[3]);
  for (const m of s.matchAll(DYNAMIC)) if (isVendored(m[3])) specs.add(m[3]);
}

// A file tsc did not emit again keeps its rewritten import: the last run's list keeps its entry.
const manifest = join(vendorDir, 'specifiers.json');
try {
  for (const spec of JSON.parse(readFileSync(manifest, 'utf8'))) specs.add(spec);
} catch { /* first build */ }
rmSync(vendorDir, { recursive: true, force: true });
if (specs.size > 0) {
  const entries = [...specs].sort();
  await build({
    // One virtual entry per specifier: it re-exports that import path and nothing else.
    entryPoints: entries.map((spec) => ({ in: `vendor-entry:${spec}`, out: relative(vendorDir, vendorFile(spec)).replace(/\.js$/, '') })),
    plugins: [{
      name: 'vendor-entries',
      setup(b) {
        b.onResolve({ filter: /^vendor-entry:/ }, (a) => ({ path: a.path.slice('vendor-entry:'.length), namespace: 'vendor-entry' }));
        b.onLoad({ filter: /.*/, namespace: 'vendor-entry' }, (a) => ({ contents: `export * from ${JSON.stringify(a.path)};`, resolveDir: root, loader: 'js' }));
      },
    }],
    outdir: vendorDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  });
}

mkdirSync(vendorDir, { recursive: true });
writeFileSync(manifest, `${JSON.stringify([...specs].sort())}\n`);

let rewritten = 0;
for (const f of files) {
  const s = readFileSync(f, 'utf8');
  const to = (spec) => {
    const r = relative(dirname(f), vendorFile(spec)).split(sep).join('/');
    rewritten++;
    return r.startsWith('.') ? r : `./${r}`;
  };
  const t = s
    .replace(STATIC, (m, head, q, spec) => (isVendored(spec) ? `${head}${q}${to(spec)}${q}` : m))
    .replace(DYNAMIC, (m, head, q, spec, tail) => (isVendored(spec) ? `${head}${q}${to(spec)}${q}${tail}` : m));
  if (t !== s) writeFileSync(f, t);
}
console.log(`vendor-deps: ${specs.size} import paths of ${VENDORED.join(', ')} joined into dist/vendor; ${rewritten} imports rewritten`);
