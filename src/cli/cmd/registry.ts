import type { RegistryLoginView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, stringFlag, type CommandTable } from '../command.js';
import { UsageError } from '../errors.js';
import { formatTable, formatTime } from '../format.js';
import { readLine } from '../io.js';
import { followQueued, type DeployAnswer } from './releases.js';

const appFlag = { app: { type: 'string' as const, value: 'APP', description: 'only for this app (default: every app pulling from the host)' } };
const scope = (app: string | undefined) => (app ? ` for ${app}` : ' for every app');

export const registryCommands: CommandTable = {
  'registry:login': {
    usage: '<host> --username USER [--app APP]',
    summary: 'Store a registry login for pulls (the password or token is read from stdin)',
    details: 'The password or token is read from stdin (hidden on a terminal), stored encrypted, used only\n'
      + 'for pulls and never shown again. An app\'s own login wins over the one for every app.\n\n'
      + 'Examples:\n'
      + '  echo "$GHCR_TOKEN" | hiy registry:login ghcr.io --username me     # a token with read:packages\n'
      + '  hiy registry:login registry.example.com:5000 --username ci --app shop',
    flags: { username: { type: 'string', short: 'u', value: 'USER', description: 'the registry user name' }, ...appFlag },
    args: [1, 1],
    async run(ctx) {
      const host = arg(ctx, 0);
      const username = stringFlag(ctx, 'username');
      if (!username) throw new UsageError('--username is required');
      const app = stringFlag(ctx, 'app');
      const password = await readLine(ctx.io, `Password or token for ${username} at ${host}: `, { hidden: true });
      if (!password) throw new UsageError('no password or token on stdin');
      const res = await ctx.api().request<{ login: RegistryLoginView; created: boolean }>('PUT', `/registries/${seg(host)}`, { username, password, ...(app ? { app } : {}) });
      ctx.print(res, () => `${res.created ? 'Stored' : 'Replaced'} the login of ${res.login.username} at ${res.login.host}${scope(res.login.app ?? undefined)} (encrypted; never shown again).\n`);
    },
  },

  'registry:logout': {
    usage: '<host> [--app APP]',
    summary: 'Forget a registry login',
    flags: appFlag,
    args: [1, 1],
    async run(ctx) {
      const app = stringFlag(ctx, 'app');
      const res = await ctx.api().request<{ removed: { host: string; app: string | null } }>('DELETE', `/registries/${seg(arg(ctx, 0))}${app ? `?app=${seg(app)}` : ''}`);
      ctx.print(res, () => `Removed the login for ${res.removed.host}${scope(res.removed.app ?? undefined)}.\n`);
    },
  },

  registry: {
    usage: '',
    summary: 'List registry logins (hosts, apps and users; never their secrets)',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<{ logins: RegistryLoginView[] }>('GET', '/registries');
      ctx.print(res, () => (res.logins.length === 0
        ? 'No registry logins. Public images need none; for private ones: hiy registry:login <host> --username <user>\n'
        : formatTable(['HOST', 'APP', 'USERNAME', 'UPDATED'], res.logins.map((l) => [l.host, l.app ?? '(every app)', l.username, formatTime(l.updated_at)]))));
    },
  },

  'images:load': {
    usage: '<app> [--no-wait]',
    summary: 'Release an image piped in from docker save (for boxes that cannot reach a registry)',
    details: 'Reads a `docker save` archive of one image from stdin, streams it to hiy (at most\n'
      + 'HIY_IMAGE_UPLOAD_MAX_MB), and releases it like a pulled image. Names inside the archive are\n'
      + 'not applied on the box.\n\n'
      + 'Examples:\n  docker save shop:v2 | hiy images:load shop\n  docker save shop:v2 | ssh pi hiy images:load shop',
    flags: { 'no-wait': { type: 'boolean', description: 'return once queued instead of following the log' } },
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      if (ctx.io.stdin.isTTY === true) throw new UsageError(`pipe an image into it: docker save <image> | hiy images:load ${app}`);
      const res = await ctx.api().upload<DeployAnswer>(`/apps/${seg(app)}/images`, ctx.io.stdin, 'application/x-tar');
      await followQueued(ctx, app, res, 'Loaded; deploy');
    },
  },
};
