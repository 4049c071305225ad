#!/usr/bin/env node
// `npm run bench [name…]`: runs the compiled benchmarks (dist/bench/*.js) one after another and
// prints their tables. Not part of `npm test`: figures are printed, never asserted.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = join(new URL('..', import.meta.url).pathname, 'dist', 'bench');
const wanted = process.argv.slice(2);
const benches = readdirSync(dir).filter((f) => f.endsWith('.js'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w))).sort();
let failed = 0;
for (const f of benches) {
  console.log(`\n== bench/${f.replace(/\.js$/, '')}`);
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
