/**
 * Bare repos go into a backup as git bundles: a bundle is one consistent set of refs and the
 * objects they need, even while a push lands (a copy of the files could catch a ref whose objects
 * were not copied yet).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HiyError } from '../errors.js';

const run = promisify(execFile);
const GIT_OPTS = { maxBuffer: 16 << 20, timeout: 30 * 60_000 };

/** Writes `dest` (a bundle of every ref); false when the repo is missing or has no refs yet. */
export async function bundleRepo(repoDir: string, dest: string): Promise<boolean> {
  if (!existsSync(join(repoDir, 'HEAD'))) return false;
  const { stdout } = await run('git', ['--git-dir', repoDir, 'for-each-ref', '--format=%(refname)'], GIT_OPTS);
  if (stdout.trim() === '') return false;
  try {
    await run('git', ['--git-dir', repoDir, 'bundle', 'create', '--quiet', dest, '--all'], GIT_OPTS);
  } catch (err) {
    throw new HiyError('internal', `git bundle of ${repoDir} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
  return true;
}

/** Checks a bundle is complete (git bundle verify) before anything is restored from it. */
export async function verifyBundle(bundle: string, scratchGitDir: string): Promise<void> {
  try {
    if (!existsSync(scratchGitDir)) await run('git', ['init', '--bare', '--quiet', '--', scratchGitDir], GIT_OPTS);
    await run('git', ['--git-dir', scratchGitDir, 'bundle', 'verify', '--quiet', bundle], GIT_OPTS);
  } catch (err) {
    throw new HiyError('invalid_input', `the git bundle ${bundle} is damaged: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** Makes `repoDir` a bare repo holding every ref of the bundle. */
export async function restoreBundle(bundle: string, repoDir: string): Promise<void> {
  await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', '--', repoDir], GIT_OPTS);
  await run('git', ['--git-dir', repoDir, 'fetch', '--quiet', '--no-tags', '--end-of-options', bundle, '+refs/*:refs/*'], GIT_OPTS);
}
