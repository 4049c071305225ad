import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { HiyError } from '../errors.js';
import { bundleRepo, restoreBundle, verifyBundle } from './bundles.js';
import { gitFetch } from './fetch.js';
import type { Repos } from './repos.js';
import { createSmartHttp } from './smart-http.js';

const run = promisify(execFile);
const SHA_RE = /^[0-9a-f]{40}$/;

export interface HookSettings {
  /** Absolute path of hooks/pre-receive shipped with hiy. */
  hookScript: string;
  /** Written into each repo's config so the hook knows where to send the archive. */
  endpoint: string;
  /** File holding the internal hook token (0600). */
  tokenFile: string;
}

/**
 * The bare repos under `root`. Without hook settings (backup and restore, which run beside a
 * stopped or running server) the repos can be read, bundled and restored, but not created.
 */
export function createBareRepos(root: string, hooks?: HookSettings): Repos {
  const path = (app: string) => join(root, `${app}.git`);
  const git = (app: string, args: string[]) => run('git', ['--git-dir', path(app), ...args], { maxBuffer: 1 << 20 });
  /** Whether a git command exits 0 (git answers yes/no questions with its exit code). */
  const succeeds = (app: string, args: string[]) => git(app, args).then(() => true, () => false);

  async function installHooks(app: string, h: HookSettings): Promise<void> {
    const dir = join(path(app), 'hooks');
    await mkdir(dir, { recursive: true });
    await copyFile(h.hookScript, join(dir, 'pre-receive'));
    await chmod(join(dir, 'pre-receive'), 0o755);
    await git(app, ['config', 'hiy.app', app]);
    await git(app, ['config', 'hiy.endpoint', h.endpoint]);
    await git(app, ['config', 'hiy.tokenfile', h.tokenFile]);
    // Pushes are only accepted by the smart-HTTP endpoint; keep refs sane.
    await git(app, ['config', 'receive.denyDeletes', 'false']);
    await git(app, ['config', 'receive.denyNonFastForwards', 'false']);
    await git(app, ['config', 'http.receivepack', 'true']);
  }

  const smartHttp = createSmartHttp(root);

  async function resolveRef(app: string, ref: string): Promise<string | undefined> {
    try {
      const { stdout } = await git(app, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
      const sha = stdout.trim();
      return SHA_RE.test(sha) ? sha : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    path,
    async create(app) {
      if (!hooks) throw new HiyError('internal', 'these repositories were opened without hook settings: they cannot be created');
      await mkdir(root, { recursive: true, mode: 0o700 });
      if (!existsSync(path(app))) {
        await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', '--', path(app)]);
      }
      await installHooks(app, hooks);
    },
    async remove(app) {
      await rm(path(app), { recursive: true, force: true });
    },
    async exists(app) {
      return existsSync(join(path(app), 'HEAD'));
    },
    resolveBranch: (app, branch) => resolveRef(app, `refs/heads/${branch}`),
    resolveRef,
    hasCommit: (app, sha) => succeeds(app, ['cat-file', '-e', '--end-of-options', `${sha}^{commit}`]),
    isAncestor: (app, older, newer) => succeeds(app, ['merge-base', '--is-ancestor', '--end-of-options', older, newer]),
    async setBranch(app, branch, sha, reason) {
      if (!SHA_RE.test(sha)) throw new HiyError('invalid_input', 'a full commit sha is required');
      await git(app, ['update-ref', '-m', reason, `refs/heads/${branch}`, sha]);
    },
    serveHttp: smartHttp,
    archive(app, sha): Readable {
      if (!SHA_RE.test(sha)) throw new HiyError('invalid_input', 'a full commit sha is required');
      const child = spawn('git', ['--git-dir', path(app), 'archive', '--format=tar', '--end-of-options', sha], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code) => {
        if (code !== 0) child.stdout.destroy(new HiyError('internal', `git archive failed: ${stderr.trim()}`));
      });
      return child.stdout;
    },
    fetch: (app, req) => gitFetch({ ...req, gitDir: path(app) }),
    bundle: (app, dest) => bundleRepo(path(app), dest),
    verifyBundle: (bundle) => verifyBundle(bundle, join(root, '.bundle-check.git')),
    restoreBundle: (app, bundle) => restoreBundle(bundle, path(app)),
  };
}
