import { execFile } from 'node:child_process';
import type { Command } from './command.js';
import { UsageError } from './errors.js';

/** The git remote `hiy git:remote` adds and the README's `git remote add hiy …` names. */
export const APP_REMOTE = 'hiy';

/** The shape of an app name (the server checks it fully); anything else is not taken for one. */
const APP_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/**
 * Commands whose first positional argument is the app: their usage starts with `<app>`. Not
 * `hiy run <app> <command…>`: there a first word is the command as often as an app, so the app
 * is always named.
 */
export const takesApp = (cmd: Command): boolean => cmd.usage.startsWith('<app>') && cmd.passThrough !== true;

/** The app of a remote URL `<server>/git/<app>.git` (what the API's git_remote field holds). */
export function appOfRemoteUrl(url: string): string | undefined {
  const m = /\/git\/([a-z][a-z0-9-]{0,29})\.git\/?$/.exec(url.trim());
  return m?.[1];
}

/** The app named by the `hiy` remote of the git repository in `cwd`, if there is one. */
export function appFromGitRemote(cwd: string): Promise<{ app?: string; url?: string }> {
  return new Promise((resolve) => {
    // git config rather than `git remote get-url`: it works on git versions without get-url,
    // and a missing git, a folder outside a repo and a missing remote all just mean "none".
    execFile('git', ['config', '--get', `remote.${APP_REMOTE}.url`], { cwd, timeout: 5_000 }, (err, stdout) => {
      if (err) return resolve({});
      const url = stdout.trim();
      resolve({ app: appOfRemoteUrl(url), url });
    });
  });
}

/**
 * Heroku's rule, so `hiy logs` in an app's folder just works: the app is `-a/--app`, else the
 * first argument when it looks like an app name, else the app of the `hiy` git remote of the
 * repository in the current folder. The first argument is taken for something else when it is
 * not an app name (`KEY=value`, `DATABASE_URL`, `/data`, `12`) or matches what the command takes
 * next (`rollback v3`), and the command has room for one more argument.
 */
export async function withApp(cmd: Command, positionals: string[], flagApp: string | undefined, cwd: string): Promise<string[]> {
  if (flagApp !== undefined) return [flagApp, ...positionals];
  const max = cmd.args[1];
  const first = positionals[0];
  const firstIsApp = first !== undefined && APP_NAME.test(first) && !(cmd.notApp?.test(first) ?? false);
  if (firstIsApp || positionals.length + 1 > max) return positionals;
  const found = await appFromGitRemote(cwd);
  if (found.app) return [found.app, ...positionals];
  throw new UsageError(found.url !== undefined
    ? `missing <app>: the "${APP_REMOTE}" git remote (${found.url}) names no hiy app; pass -a <app>`
    : `missing <app>: pass it, or -a <app>, or run this in a repository with a "${APP_REMOTE}" git remote (hiy git:remote <app>)`);
}
