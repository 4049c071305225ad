#!/usr/bin/env node
// Bundles the laptop CLI (src/cli/laptop.ts and what it imports) into one self-contained file,
// dist/cli/hiy.mjs, with its sha256 in dist/cli/hiy.sha256 (`sha256sum -c` format). hiy serves
// both at /cli/hiy and /cli/hiy.sha256 (docs/cli.md). `npm run build` runs this after tsc, which
// has type-checked the same sources; esbuild only strips types and joins the files.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, process.env.HIY_BUNDLE_OUT ?? join('dist', 'cli'));
const outfile = join(outDir, 'hiy.mjs');
mkdirSync(outDir, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'src', 'cli', 'laptop.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Only node: built-ins may stay imports: anything else would need a node_modules next to the file.
  packages: 'bundle',
  // ws (hiy run) is CommonJS and requires node's modules at run time: an ESM bundle needs a require.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __hiyRequire } from 'node:module';\nconst require = __hiyRequire(import.meta.url);" },
  // ws's optional native speed-ups, loaded in a try/catch: without them it uses plain JavaScript.
  external: ['bufferutil', 'utf-8-validate'],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const optional = new Set(['bufferutil', 'utf-8-validate']);
// Node's own modules, with or without node: (ws asks for 'events', 'http', …).
const builtin = (p) => p.startsWith('node:') || builtinModules.includes(p);
const outside = Object.values(result.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.external && !builtin(i.path) && !optional.has(i.path));
if (outside.length) {
  console.error(`bundle-cli: the laptop CLI would need ${outside.map((i) => i.path).join(', ')} at run time`);
  process.exit(1);
}
const sum = createHash('sha256').update(readFileSync(outfile)).digest('hex');
writeFileSync(join(outDir, 'hiy.sha256'), `${sum}  hiy\n`);
