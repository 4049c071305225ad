#!/usr/bin/env node
// Runs every compiled test file with Node's own runner. `npm test` builds first (tsc = type check).
// HIY_TEST_DIST picks another build folder; extra arguments filter test files by substring.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, process.env.HIY_TEST_DIST ?? 'dist');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(dist)
  .filter((f) => !relative(dist, f).startsWith('bench'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under', dist);
  process.exit(1);
}
// Node's --test-timeout also bounds each whole file. tests/system boots Debian guests (plus a
// debootstrap of about 4 minutes on a machine's first run): its file gets 30 minutes, every other
// file and test the usual 10.
const isSystem = (f) => relative(dist, f).split(sep).slice(0, 2).join('/') === 'tests/system';
let status = 0;
for (const [group, timeout] of [[files.filter((f) => !isSystem(f)), 600_000], [files.filter(isSystem), 1_800_000]]) {
  if (group.length === 0) continue;
  const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${timeout}`, ...group], { stdio: 'inherit' });
  status ||= res.status ?? 1;
}
process.exit(status);
