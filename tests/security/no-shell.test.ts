/**
 * A lint rule as a test: no host-side code builds a shell command line. It fails on
 *  1. importing or calling child_process `exec` / `execSync` (they always run /bin/sh -c <string>);
 *  2. a `shell:` option that is not `false` (spawn/execFile with shell: true parse a string too);
 *  3. spawn / spawnSync / execFile / execFileSync / fork whose command is a template with `${…}`,
 *     a string holding a space (a command line, not a program), or sh/bash/dash with `-c`;
 *  4. `new Function` / `eval` (a string turned into code).
 * Scanned: src/, hooks/, ui/, bin/, scripts/, infra/*.mjs, tests/, harness/ (what tests and
 * benchmarks share) and bench/. Tests, the harness and benchmarks are held to the same rules but
 * one: they may run a CONSTANT `sh -c` script (install.sh is a shell script and its test drives a
 * shell), never one with `${…}` in it; values go in as positional arguments. Not a host shell and
 * so not matched: `/bin/sh -c` as an argument INSIDE an app's container (a Procfile line runs in a
 * shell, as on Heroku), passed to Docker as an array element, never run on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../harness/paths.js';

const ROOTS = ['src', 'hooks', 'ui', 'bin', 'scripts', 'infra', 'harness', 'tests', 'bench'];
const CODE = /\.(ts|tsx|js|mjs|cjs)$/;

function files(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const out: string[] = [];
  for (const n of names) {
    if (n === 'node_modules' || n.startsWith('dist')) continue;
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...files(p));
    // hooks/ holds scripts without an extension; they are JavaScript.
    else if (CODE.test(n) || (dir.endsWith('hooks') && !n.includes('.'))) out.push(p);
  }
  return out;
}

/** Comments out of the way (they may well say "never exec"), strings and code kept. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).split('\n')
    .map((l) => (/^\s*\/\//.test(l) ? '' : l.replace(/(^|[^:'"`\\])\/\/ .*$/, '$1'))).join('\n');
}

const PROCESS_FN = '(?:spawn|spawnSync|execFile|execFileSync|fork)';
const SHELL = `['"](?:/bin/|/usr/bin/)?(?:ba|da|z)?sh['"]`;
/** Tests may run a constant script (install.sh is a shell script; its test drives a shell); nothing else may run sh -c. */
const HOST_SHELL: [string, RegExp] = ['runs sh -c on the host', new RegExp(`\\b${PROCESS_FN}\\(\\s*${SHELL}\\s*,\\s*\\[\\s*['"]-c`)];
const RULES: [string, RegExp][] = [
  ['imports exec/execSync from child_process', /import\s*\{[^}]*\b(?:exec|execSync)\b[^}]*\}\s*from\s*['"](?:node:)?child_process['"]/],
  ['calls child_process exec/execSync', /\b(?:child_process|childProcess|cp)\.(?:exec|execSync)\s*\(/],
  ['requires exec from child_process', /\{\s*[^}]*\b(?:exec|execSync)\b[^}]*\}\s*=\s*(?:await\s+import|require)\(\s*['"](?:node:)?child_process['"]/],
  ['sets a shell option', /\bshell\s*:\s*(?!false\b)[^\s,}]/],
  ['runs a command built from a template', new RegExp(`\\b${PROCESS_FN}\\(\\s*\`[^\`]*\\$\\{`)],
  ['runs a command line (a string with a space)', new RegExp(`\\b${PROCESS_FN}\\(\\s*(['"])[^'"]*\\s[^'"]*\\1`)],
  ['runs sh -c with a script built from a template', new RegExp(`\\b${PROCESS_FN}\\(\\s*${SHELL}\\s*,\\s*\\[\\s*['"]-c['"]\\s*,\\s*\`[^\`]*\\$\\{`)],
  ['turns a string into code', /\bnew Function\s*\(|(?<![.\w])eval\s*\(/],
];

function violations(source: string, isTest = false): string[] {
  const code = stripComments(source);
  return [...RULES, ...(isTest ? [] : [HOST_SHELL])].filter(([, re]) => re.test(code)).map(([why]) => why);
}

test('the rules catch what they are meant to catch', () => {
  const bad = [
    "import { exec } from 'node:child_process';",
    "import { execFile, execSync } from 'child_process';",
    'childProcess.exec(`git ${x}`);',
    "const { exec } = await import('node:child_process');",
    "spawn('git', ['log'], { shell: true });",
    'execFile(`git ${args}`, cb);',
    "spawnSync('git log --oneline');",
    "execFileSync('/bin/sh', ['-c', cmd]);",
    "spawn('bash', ['-c', 'ls']);",
    "new Function('return 1')",
    'eval(code)',
  ];
  for (const b of bad) assert.notDeepEqual(violations(b), [], b);
  assert.notDeepEqual(violations("spawnSync('sh', ['-c', `command -v ${name}`]);", true), [], 'tests: no interpolated sh -c');
  assert.deepEqual(violations("spawnSync('sh', ['-c', 'command -v \"$1\"', 'sh', name]);", true), [], 'tests: a constant script with positional arguments');
  const good = [
    "import { execFile, spawn } from 'node:child_process';",
    "spawn('git', ['--git-dir', dir, 'archive', '--end-of-options', sha], { stdio: 'pipe', shell: false });",
    "execFile('docker', args, { timeout: 1000 }, cb);",
    "// never exec(`git ${x}`) here",
    "const cmd = ['/bin/sh', '-c', `exec ${command}`]; // runs inside the container",
    "re.exec(text)",
  ];
  for (const g of good) assert.deepEqual(violations(g), [], g);
});

test('no file under src/, hooks/, ui/, bin/, scripts/, infra/, harness/, tests/ or bench/ builds a shell command', () => {
  const root = repoRoot();
  const found: string[] = [];
  let scanned = 0;
  for (const dir of ROOTS) {
    for (const file of files(join(root, dir))) {
      // This file holds the bad examples the rules are checked against.
      if (file.endsWith(join('security', 'no-shell.test.ts'))) continue;
      scanned++;
      const isTest = dir === 'tests' || dir === 'harness' || dir === 'bench' || /\.test\.tsx?$/.test(file);
      for (const why of violations(readFileSync(file, 'utf8'), isTest)) found.push(`${relative(root, file)}: ${why}`);
    }
  }
  assert.ok(scanned > 100, `scanned ${scanned} files`);
  assert.deepEqual(found, []);
});
