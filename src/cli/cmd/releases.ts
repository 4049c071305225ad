import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ReleaseInfo, ReleaseView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, stringFlag, type CommandTable, type Ctx } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { formatTable, formatTime, shortSha } from '../format.js';
import { followBuild } from '../follow.js';
import { moreLine, pageFlags, pageQueryOf } from '../paging.js';

const run = promisify(execFile);

export interface DeployAnswer { deploy: { id: number; app: string; status: string; rollback_to?: number; image?: string } }

async function startAndFollow(ctx: Ctx, method: 'POST', path: string, body: unknown, what: string): Promise<void> {
  const app = arg(ctx, 0);
  const res = await ctx.api().request<DeployAnswer>(method, `/apps/${seg(app)}${path}`, body);
  await followQueued(ctx, app, res, what);
}

/** Prints where a queued deploy is, then (unless --no-wait) its log until it ends. */
export async function followQueued(ctx: Ctx, app: string, res: DeployAnswer, what: string): Promise<void> {
  if (ctx.flags['no-wait'] === true) {
    return ctx.print(res, () => `${what} queued as deploy #${res.deploy.id} (hiy deploys:info ${app} ${res.deploy.id})\n`);
  }
  // --json changes the form, never what happens: the answer, then the followed log as JSON lines.
  ctx.out(ctx.json ? `${JSON.stringify(res)}\n` : `${what} queued as deploy #${res.deploy.id}\n`);
  await followBuild(ctx, app, res.deploy.id);
}

const noWait = { 'no-wait': { type: 'boolean' as const, description: 'return once queued instead of following the log' } };

export const releaseCommands: CommandTable = {
  deploy: {
    usage: '<app> [--image REF] [--no-wait]',
    summary: 'Release the head of the app\'s branch (built), its image tag, or the image --image names (pulled)',
    details: 'Without --image: a git app builds the head of its branch; an app whose source is an image\n'
      + 'pulls its image tag. --image pulls that image (a tag or a digest) from its registry and\n'
      + 'releases it through the same health-gated switch; the release records its digest.\n'
      + 'Private registries need a login first: hiy registry:login <host> --username <user>\n\n'
      + 'Examples:\n  hiy deploy shop --image ghcr.io/me/shop:v2\n  hiy deploy shop --image ghcr.io/me/shop@sha256:…',
    flags: { ...noWait, image: { type: 'string', value: 'REF', description: 'an image reference to pull and release (docs/image-deploys.md)' } },
    args: [1, 1],
    run: (ctx) => {
      const image = stringFlag(ctx, 'image');
      if (image === '') throw new UsageError('--image needs an image reference, e.g. ghcr.io/me/shop:v2');
      return startAndFollow(ctx, 'POST', '/deploys', image === undefined ? {} : { image }, image === undefined ? 'Deploy' : `Deploy of ${image}`);
    },
  },

  restart: {
    usage: '<app> [--no-wait]',
    summary: 'Restart the current release (zero downtime: a new container, then the old one stops)',
    flags: noWait,
    args: [1, 1],
    run: (ctx) => startAndFollow(ctx, 'POST', '/restart', {}, 'Restart'),
  },

  releases: {
    usage: '<app> [--limit N] [--before ID]',
    summary: 'List an app\'s releases, the current one marked',
    flags: pageFlags('releases', 'default all'),
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; releases: ReleaseView[]; next: number | null }>(
        'GET', `/apps/${seg(arg(ctx, 0))}/releases${pageQueryOf(ctx)}`);
      ctx.print(res, () => (res.releases.length === 0
        ? `${res.app} has no releases yet.\n`
        : formatTable(['', 'VERSION', 'SHA / DIGEST', 'DEPLOY', 'CREATED', 'IMAGE'], res.releases.map((r) => [
          r.current ? '*' : '', `v${r.version}`, shortSha(r.sha), `#${r.deploy_id}`, formatTime(r.created_at), r.image_ref,
        ])) + moreLine(res.next, `hiy releases ${res.app}`)));
    },
  },

  'releases:info': {
    usage: '<app> <release>',
    summary: 'Show one release (v3 or 3): what it runs, its processes and jobs, the deploy that made it',
    args: [2, 2],
    notApp: /^v?\d+$/,
    async run(ctx) {
      const v = arg(ctx, 1);
      if (!/^v?\d{1,7}$/.test(v)) throw new UsageError(`release must look like v3 or 3, not "${v}"`);
      const res = await ctx.api().request<ReleaseInfo>('GET', `/apps/${seg(arg(ctx, 0))}/releases/${v.replace(/^v/, '')}`);
      ctx.print(res, () => releaseText(res));
    },
  },

  rollback: {
    usage: '<app> [<release>] [--no-wait]',
    summary: 'Release the previous (or the named, e.g. v3) release again, without building',
    flags: noWait,
    args: [1, 2],
    notApp: /^v?\d+$/,
    async run(ctx) {
      const v = ctx.args[1];
      if (v !== undefined && !/^v?\d+$/.test(v)) throw new UsageError(`release must look like v3 or 3, not "${v}"`);
      await startAndFollow(ctx, 'POST', '/rollback', v === undefined ? {} : { version: Number(v.replace(/^v/, '')) }, 'Rollback');
    },
  },

  'git:remote': {
    usage: '<app> [--remote NAME]',
    summary: 'Add the app\'s git remote (named hiy) to the repository in the current folder',
    details: 'git asks for a password on the first push: give an API token (any user name).\n'
      + '`git config credential.helper store` makes git remember it.',
    flags: { remote: { type: 'string', short: 'r', value: 'NAME', description: 'remote name (default hiy)' } },
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      const remote = typeof ctx.flags.remote === 'string' ? ctx.flags.remote : 'hiy';
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(remote)) throw new UsageError(`"${remote}" is not a usable remote name`);
      await ctx.api().request('GET', `/apps/${seg(app)}`);
      const url = `${ctx.api().url}/git/${app}.git`;
      const has = await run('git', ['remote', 'get-url', '--', remote]).then(() => true, () => false);
      try {
        await run('git', ['remote', has ? 'set-url' : 'add', '--', remote, url]);
      } catch (err) {
        throw new CliError(`git remote failed: ${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
      }
      ctx.print({ remote, url }, () => `${has ? 'Updated' : 'Added'} git remote ${remote} → ${url}\nDeploy with: git push ${remote} main\n`);
    },
  },
};

function releaseText({ app, release: r, deploy: d }: ReleaseInfo): string {
  const processes = Object.entries(r.processes ?? {});
  const lines = [
    `=== ${app} v${r.version}${r.current ? ' (current)' : ''}`,
    `${r.image_ref ? 'Digest' : 'Commit'}:    ${r.sha}`,
    ...(r.image_ref ? [`Image ref: ${r.image_ref}`] : []),
    `Image:     ${r.image}`,
    `Created:   ${formatTime(r.created_at)}`,
    `Deploy:    ${d ? `#${d.id} (${d.triggered_by}, ${d.status})` : `#${r.deploy_id}`}`,
    `Processes: ${processes.length ? processes.map(([t, cmd]) => `${t}: ${cmd}`).join('; ') : 'web: the image\'s own command'}`,
    `Cron jobs: ${r.cron?.length ?? 0}`,
  ];
  return `${lines.join('\n')}\n`;
}
