/**
 * The host's side of the system tests: what the guest installs from (a snapshot of this checkout
 * as a git repository), and the host's firewall, which a guest must never change.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';

const ORIGIN_PREFIX = 'hiy-system-origin-';

export interface Origin {
  dir: string;
  /** The commit under test: HEAD plus the working tree's changes, if any. */
  current: string;
  /** HEAD's first parent: the "previous commit" of the upgrade test. */
  previous: string;
  remove(): void;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await run('git', args, { cwd, env: { GIT_AUTHOR_NAME: 'hiy test', GIT_AUTHOR_EMAIL: 'test@hiy.localhost', GIT_COMMITTER_NAME: 'hiy test', GIT_COMMITTER_EMAIL: 'test@hiy.localhost' } });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} in ${cwd}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * A clone of this checkout whose `main` is exactly the files being tested: a commit of the
 * working tree on top of HEAD when it has changes (tracked or new, .gitignore respected), so a
 * developer's uncommitted work is what the guest installs. Owned by uid 1000, the guest's
 * operator, whom git would otherwise refuse to clone it for.
 */
export async function makeOrigin(): Promise<Origin> {
  const src = repoRoot();
  const parent = mkdtempSync(join(tmpdir(), ORIGIN_PREFIX));
  writeFileSync(join(parent, 'owner'), `${process.pid}\n`); // sweepOrigins: left behind once this process is gone
  const dir = join(parent, 'hiy');
  await git(parent, 'clone', '--quiet', '--no-local', '--', src, dir);
  await git(dir, 'checkout', '--quiet', '-B', 'main');
  const previous = previousCommit() ?? '';
  // Mirror the working tree: remove what the clone has, then copy every file git would track.
  for (const f of (await git(dir, 'ls-files', '-z')).split('\0').filter(Boolean)) rmSync(join(dir, f), { force: true });
  for (const f of (await git(src, 'ls-files', '-z', '--cached', '--others', '--exclude-standard')).split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(src, f), join(dir, f), { verbatimSymlinks: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted in the working tree
    }
  }
  await git(dir, 'add', '-A');
  if ((await git(dir, 'status', '--porcelain')) !== '') await git(dir, 'commit', '--quiet', '--no-verify', '-m', 'tests/system: the working tree under test');
  const current = await git(dir, 'rev-parse', 'HEAD');
  const chown = await run('chown', ['-R', '1000:1000', parent]);
  if (chown.code !== 0) throw new Error(`chown of the origin failed: ${chown.stderr}`);
  return { dir, current, previous, remove: () => rmSync(parent, { recursive: true, force: true }) };
}

/**
 * HEAD's first parent, or undefined where the checkout does not have it (a shallow clone of one
 * commit): the upgrade suite is then skipped and says why.
 */
export function previousCommit(): string | undefined {
  try {
    const sha = execFileSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}^'], { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the origins whose test process is gone (killed before its teardown ran). */
export function sweepOrigins(): void {
  for (const entry of readdirSync(tmpdir()).filter((e) => e.startsWith(ORIGIN_PREFIX))) {
    const dir = join(tmpdir(), entry);
    let owner = 0;
    try { owner = Number(readFileSync(join(dir, 'owner'), 'utf8')); } catch { continue; }
    let alive = false;
    try { alive = readFileSync(`/proc/${owner}/cmdline`, 'utf8').split('\0')[0]?.endsWith('node') === true; } catch { /* gone */ }
    if (!alive) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The host's iptables and ip6tables rules, without counters, comments and the rules the host's
 * own dockerd keeps changing (its chains and bridges: other tests create networks meanwhile).
 */
export async function hostFirewall(): Promise<string> {
  const out: string[] = [];
  for (const cmd of ['iptables-save', 'ip6tables-save']) {
    const r = await run(cmd, []);
    if (r.code !== 0) {
      out.push(`${cmd}: exit ${r.code}`);
      continue;
    }
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('#') || line === '') continue;
      if (/DOCKER|docker0|br-[0-9a-f]{12}/.test(line)) continue;
      // dockerd's hairpin rule for each published port of a container.
      if (/^-A POSTROUTING -s (\S+)\/32 -d \1\/32 .*-j MASQUERADE$/.test(line)) continue;
      out.push(`${cmd}: ${line.replace(/ \[\d+:\d+\]$/, '')}`);
    }
  }
  return out.join('\n');
}
