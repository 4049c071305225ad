/**
 * The layer rules of docs/architecture.md as a test, over the imports written in the sources
 * (static `import`/`export … from`, `import type` included, and dynamic `import()`), so a new
 * file is held to them the day it is written:
 *  - every module of src/ and ui/ sits in a layer (a new folder must be given one here);
 *  - imports point to the same layer or one below: entry → surfaces → services → adapters → base;
 *  - the CLI's own code imports only the CLI, the API contract and the base layer (it talks to
 *    the server through the REST API; `hiy server`/`backup`/`restore` load the server lazily);
 *  - only src/runtime imports dockerode, only src/git runs git for the server (node-git-server
 *    included); the CLI's own git calls on the user's repository stay in src/cli;
 *  - no cycle between files; bench/ and harness/ import nothing from tests/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../harness/paths.js';

const root = repoRoot();

/**
 * Top to bottom. A module's layer is the first whose pattern matches its path from the repo root:
 * the files directly in src/ that are not entry or services files are the base layer.
 */
const LAYERS: { name: string; paths: RegExp[] }[] = [
  { name: 'entry', paths: [/^src\/main\.ts$/, /^src\/wiring\.ts$/, /^src\/cli\//] },
  { name: 'surfaces', paths: [/^src\/api\//, /^src\/http\//, /^ui\//] },
  {
    name: 'services',
    paths: [/^src\/(apps|addons|deploy|build|env|webhooks|logs|metrics|alerts|auth|ops|tls|registry|runs|nodes)\/(?!.*table\.ts$)/, /^src\/services\.ts$/, /^src\/observability\.ts$/],
  },
  { name: 'adapters', paths: [/^src\/(git|runtime|proxy|db)\//] },
  {
    name: 'base',
    // Schema files (each domain's table types, composed by db/database.ts) hold types only.
    paths: [/^src\/[a-z-]+\.ts$/, /^src\/[a-z-]+\/([a-z-]+-)?table\.ts$/],
  },
];
const CLI_MAY_IMPORT = /^src\/(cli\/|contract\.ts$|version\.ts$|config\.ts$|errors\.ts$|terminal-safe\.ts$)/;

interface Import { from: string; to: string; spec: string; typeOnly: boolean; dynamic: boolean }

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(join(root, dir))) {
    const p = join(dir, n);
    if (statSync(join(root, p)).isDirectory()) files(p, out);
    else if (/\.tsx?$/.test(n) && !/\.d\.ts$/.test(n)) out.push(p.split(sep).join('/'));
  }
  return out;
}

/** Comments blanked (they may quote an import), everything else kept. */
const withoutComments = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');

const IMPORT_RE = /\b(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports of a file, resolved to repo paths (`.js` written, `.ts`/`.tsx` on disk); packages as their name. */
function importsOf(file: string): Import[] {
  const out: Import[] = [];
  for (const m of withoutComments(readFileSync(join(root, file), 'utf8')).matchAll(IMPORT_RE)) {
    const spec = m[3] ?? m[4]!;
    const dynamic = m[4] !== undefined;
    let to = spec;
    if (spec.startsWith('.')) {
      const base = join(dirname(file), spec).split(sep).join('/').replace(/\.js$/, '');
      to = [`${base}.ts`, `${base}.tsx`].find((p) => { try { return statSync(join(root, p)).isFile(); } catch { return false; } }) ?? `${base}.?`;
    }
    out.push({ from: file, to, spec, typeOnly: m[2] !== undefined, dynamic });
  }
  return out;
}

const layerOf = (path: string): number => LAYERS.findIndex((l) => l.paths.some((re) => re.test(path)));
const product = [...files('src'), ...files('ui')].filter((f) => !/\.test\.tsx?$/.test(f));
const graph = new Map(product.map((f) => [f, importsOf(f)]));
const local = (i: Import) => i.spec.startsWith('.');

describe('architecture: the layers and the adapters', { timeout: 30_000 }, () => {
  test('the import parser sees what it must', () => {
    const seen = [...withoutComments(`import a from './a.js';\nimport type { B } from "../b.js";\nexport { c } from './c.js';\nconst d = await import('./d.js');\n// import x from './x.js';\nimport './e.js';`).matchAll(IMPORT_RE)]
      .map((m) => `${m[2] ? 'type ' : ''}${m[3] ?? m[4]}`);
    assert.deepEqual(seen, ['./a.js', 'type ../b.js', './c.js', './d.js', './e.js']);
    assert.ok(product.length > 150, `${product.length} modules read`);
    assert.ok([...graph.values()].flat().filter(local).length > 500, 'hundreds of imports parsed');
  });

  test('every module of src/ and ui/ has a layer, and every relative import resolves', () => {
    assert.deepEqual(product.filter((f) => layerOf(f) < 0), [], 'modules outside every layer (give their folder one in LAYERS and docs/architecture.md)');
    assert.deepEqual([...graph.values()].flat().filter((i) => local(i) && i.to.endsWith('.?')).map((i) => `${i.from} → ${i.spec}`), []);
  });

  test('imports only point down the layers (entry → surfaces → services → adapters → base)', () => {
    const up = [...graph.values()].flat().filter((i) => local(i) && layerOf(i.to) >= 0 && layerOf(i.to) < layerOf(i.from))
      .map((i) => `${i.from} (${LAYERS[layerOf(i.from)]!.name}) → ${i.to} (${LAYERS[layerOf(i.to)]!.name})`);
    assert.deepEqual(up, []);
  });

  test('the CLI reaches the server only through the API contract (and lazily for hiy server, backup, restore)', () => {
    const bad = [...graph.values()].flat().filter((i) => i.from.startsWith('src/cli/') && local(i) && !i.dynamic && !CLI_MAY_IMPORT.test(i.to))
      .map((i) => `${i.from} → ${i.to}`);
    assert.deepEqual(bad, []);
  });

  test('only src/runtime imports dockerode; only src/git runs git for the server', () => {
    const all = [...graph.values()].flat();
    assert.deepEqual(all.filter((i) => i.spec === 'dockerode' && !i.from.startsWith('src/runtime/')).map((i) => i.from), []);
    assert.deepEqual(all.filter((i) => i.spec === 'node-git-server' && !i.from.startsWith('src/git/')).map((i) => i.from), []);
    // A module that can start processes and names the git binary runs git.
    const runsGit = product.filter((f) => graph.get(f)!.some((i) => /^(node:)?child_process$/.test(i.spec))
      && /(['"`])git\1/.test(withoutComments(readFileSync(join(root, f), 'utf8'))));
    assert.ok(runsGit.includes('src/git/bare-repos.ts') && runsGit.includes('src/git/fetch.ts'), `the check finds git's own runners: ${runsGit.join(', ')}`);
    assert.deepEqual(runsGit.filter((f) => !f.startsWith('src/git/') && !f.startsWith('src/cli/')), []);
  });

  test('no cycle between files', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]) => {
      state.set(f, 'open');
      for (const i of graph.get(f) ?? []) {
        if (!local(i) || !graph.has(i.to)) continue;
        if (state.get(i.to) === 'open') cycles.push([...path.slice(path.indexOf(i.to)), f, i.to].join(' → '));
        else if (!state.has(i.to)) visit(i.to, [...path, f]);
      }
      state.set(f, 'done');
    };
    for (const f of product) if (!state.has(f)) visit(f, []);
    assert.deepEqual(cycles, []);
  });

  test('benchmarks and the harness they share with tests import nothing from tests/', () => {
    const bad = [...files('bench'), ...files('harness')].flatMap(importsOf).filter((i) => i.to.startsWith('tests/')).map((i) => `${i.from} → ${i.to}`);
    assert.deepEqual(bad, []);
  });
});
