import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json, found by walking up from this compiled file. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The build folder the running tests were compiled into (dist, dist-<someone>). */
export function distRoot(): string {
  const root = repoRoot();
  const first = relative(root, fileURLToPath(import.meta.url)).split(sep)[0];
  if (!first || first === 'tests') throw new Error('tests must run from a compiled build folder (npx tsc --outDir dist-…)');
  return join(root, first);
}

/** `node <dist>/src/cli/entry.js`: the hiy binary of this build. */
export function hiyEntry(): string {
  return join(distRoot(), 'src', 'cli', 'entry.js');
}
