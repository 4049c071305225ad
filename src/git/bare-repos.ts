import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { HiyError } from '../errors.js';
import type { Repos } from './repos.js';

const run = promisify(execFile);

export interface HookSettings {
  /** Absolute path of hooks/pre-receive shipped with hiy. */
  hookScript: string;
  /** Written into each repo's config so the hook knows where to send the archive. */
  endpoint: string;
  /** File holding the internal hook token (0600). */
  tokenFile: string;
}

export function createBareRepos(root: string, hooks: HookSettings): Repos {
  const path = (app: string) => join(root, `${app}.git`);
  const git = (app: string, args: string[]) => run('git', ['--git-dir', path(app), ...args], { maxBuffer: 1 << 20 });

  async function installHooks(app: string): Promise<void> {
    const dir = join(path(app), 'hooks');
    await mkdir(dir, { recursive: true });
    await copyFile(hooks.hookScript, join(dir, 'pre-receive'));
    await chmod(join(dir, 'pre-receive'), 0o755);
    await git(app, ['config', 'hiy.app', app]);
    await git(app, ['config', 'hiy.endpoint', hooks.endpoint]);
    await git(app, ['config', 'hiy.tokenfile', hooks.tokenFile]);
    // Pushes are only accepted by the smart-HTTP endpoint; keep refs sane.
    await git(app, ['config', 'receive.denyDeletes', 'false']);
    await git(app, ['config', 'receive.denyNonFastForwards', 'false']);
    await git(app, ['config', 'http.receivepack', 'true']);
  }

  return {
    path,
    async create(app) {
      await mkdir(root, { recursive: true, mode: 0o700 });
      if (!existsSync(path(app))) {
        await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', '--', path(app)]);
      }
      await installHooks(app);
    },
    async remove(app) {
      await rm(path(app), { recursive: true, force: true });
    },
    async exists(app) {
      return existsSync(join(path(app), 'HEAD'));
    },
    async resolveBranch(app, branch) {
      try {
        const { stdout } = await git(app, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`]);
        const sha = stdout.trim();
        return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
      } catch {
        return undefined;
      }
    },
    archive(app, sha): Readable {
      if (!/^[0-9a-f]{40}$/.test(sha)) throw new HiyError('invalid_input', 'a full commit sha is required');
      const child = spawn('git', ['--git-dir', path(app), 'archive', '--format=tar', '--end-of-options', sha], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code) => {
        if (code !== 0) child.stdout.destroy(new HiyError('internal', `git archive failed: ${stderr.trim()}`));
      });
      return child.stdout;
    },
  };
}
