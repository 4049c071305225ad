/**
 * `hiy addons…`: data services (Postgres, Redis) with Heroku's verbs. Dumps and restores stream
 * between the server and stdout/stdin; the URL (with its password) is shown only with --reveal.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AddonInfo, AddonView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, numberFlag, stringFlag, type CommandTable } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { formatPairs, formatTable, formatTime } from '../format.js';
import { confirmByName } from '../confirm.js';

interface AttachAnswer { addon: string; app: string; as: string; var: string; restarted: boolean; deploy_id?: number }

/** Creating pulls the image the first time (minutes on a Pi) and initialises the data. */
const LONG_MS = 30 * 60_000;

const size = (bytes: number | null): string => (bytes === null ? '-' : bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GB` : bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`);
const attachedText = (a: AddonView) => a.attachments.map((x) => `${x.app} (${x.var})`).join(', ');
const restartNote = (r: { restarted: boolean; deploy_id?: number; app: string }) => (r.restarted ? `; restarting ${r.app} (deploy #${r.deploy_id})` : '');

function infoText(a: AddonInfo): string {
  return formatPairs([
    ['name', a.name],
    ['kind', a.kind],
    ['status', a.status],
    ['version', a.version],
    ['image', a.image],
    ['memory', `${a.memory_mb} MB limit${a.memory_bytes === null ? '' : `, ${size(a.memory_bytes)} in use`}`],
    ['disk', size(a.disk_bytes)],
    ['url', a.url + (a.revealed ? '' : '   (--reveal shows the password)')],
    ['database', a.database],
    ['attached to', attachedText(a) || 'no app'],
    ['restarts', a.restart_count],
    ['started', formatTime(a.started_at)],
    ['created', formatTime(a.created_at)],
  ]);
}

export const addonCommands: CommandTable = {
  addons: {
    usage: '[<app>]',
    summary: 'List add-ons (data services), or those attached to one app',
    args: [0, 1],
    async run(ctx) {
      const app = ctx.args[0];
      const res = await ctx.api().request<{ addons: AddonView[] }>('GET', app ? `/apps/${seg(app)}/addons` : '/addons');
      ctx.print(res, () => (res.addons.length === 0
        ? `No add-ons${app ? ` attached to ${app}` : ''}. Create one with: hiy addons:create ${app ?? '<app>'} postgres\n`
        : formatTable(['NAME', 'KIND', 'VERSION', 'STATUS', 'DISK', 'ATTACHED TO'], res.addons.map((a) => [a.name, a.kind, a.version, a.status, size(a.disk_bytes), attachedText(a)]))));
    },
  },

  'addons:create': {
    usage: '<app> postgres|redis [--name N] [--as NAME] [--memory MB]',
    summary: 'Create a Postgres or Redis add-on and attach it to the app (DATABASE_URL / REDIS_URL)',
    details: 'The server runs in its own hardened container with its data in a volume; the app gets\n'
      + 'DATABASE_URL (postgres) or REDIS_URL (redis), or NAME_URL with --as NAME, and restarts with\n'
      + 'zero downtime. Memory defaults: postgres 256 MB, redis 64 MB. See docs/addons.md.',
    flags: {
      name: { type: 'string', value: 'N', description: 'the add-on\'s name (default <app>-<kind>)' },
      as: { type: 'string', value: 'NAME', description: 'the app gets NAME_URL instead of DATABASE_URL / REDIS_URL' },
      memory: { type: 'string', value: 'MB', description: 'memory limit (postgres 128-8192, default 256; redis 32-8192, default 64)' },
    },
    args: [2, 2],
    async run(ctx) {
      const body = { app: arg(ctx, 0), kind: arg(ctx, 1), name: stringFlag(ctx, 'name'), as: stringFlag(ctx, 'as'), memory_mb: numberFlag(ctx, 'memory') };
      const res = await ctx.api().request<{ addon: AddonInfo; attachment?: AttachAnswer }>('POST', '/addons', body, { timeoutMs: LONG_MS });
      ctx.print(res, () => `Created ${res.addon.name} (${res.addon.kind} ${res.addon.version ?? ''})`.trimEnd()
        + (res.attachment ? `, attached to ${res.attachment.app} as ${res.attachment.var}${restartNote(res.attachment)}` : '') + '\n');
    },
  },

  'addons:info': {
    usage: '<addon> [--reveal]',
    summary: 'Show an add-on: status, version, size, URL (password hidden unless --reveal), apps',
    flags: { reveal: { type: 'boolean', description: 'show the URL with its password' } },
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ addon: AddonInfo }>('GET', `/addons/${seg(arg(ctx, 0))}${ctx.flags.reveal === true ? '?reveal=true' : ''}`);
      ctx.print(res, () => infoText(res.addon));
    },
  },

  'addons:attach': {
    usage: '<addon> <app> [--as NAME]',
    summary: 'Attach an add-on to an app (it gets DATABASE_URL / REDIS_URL or NAME_URL) and restart it',
    flags: { as: { type: 'string', value: 'NAME', description: 'the app gets NAME_URL' } },
    args: [2, 2],
    async run(ctx) {
      const as = stringFlag(ctx, 'as');
      const res = await ctx.api().request<AttachAnswer>('POST', `/addons/${seg(arg(ctx, 0))}/attachments`, { app: arg(ctx, 1), ...(as !== undefined ? { as } : {}) });
      ctx.print(res, () => `Attached ${res.addon} to ${res.app} as ${res.var}${restartNote(res)}\n`);
    },
  },

  'addons:detach': {
    usage: '<addon> <app>',
    summary: 'Detach an add-on from an app (its variable goes) and restart the app',
    args: [2, 2],
    async run(ctx) {
      const res = await ctx.api().request<AttachAnswer>('DELETE', `/addons/${seg(arg(ctx, 0))}/attachments/${seg(arg(ctx, 1))}`);
      ctx.print(res, () => `Detached ${res.addon} from ${res.app} (${res.var} removed)${restartNote(res)}\n`);
    },
  },

  'addons:destroy': {
    usage: '<addon> [--confirm <addon>] [--detach]',
    summary: 'Delete an add-on and its data (refused while attached, unless --detach)',
    details: 'On a terminal it asks you to type the add-on\'s name. Scripts pass --confirm <addon>.\nTake a dump first if you may want the data: hiy addons:dump <addon> > file',
    flags: {
      confirm: { type: 'string', value: 'ADDON', description: 'the add-on\'s name again, to confirm without a prompt' },
      detach: { type: 'boolean', description: 'detach it from every app first (each restarts without its variable)' },
    },
    args: [1, 1],
    async run(ctx) {
      const addon = arg(ctx, 0);
      await confirmByName(ctx, addon, { kind: 'add-on\'s name', warning: `This deletes ${addon} and all of its data.` });
      const res = await ctx.api().request<{ detached: string[] }>('DELETE', `/addons/${seg(addon)}${ctx.flags.detach === true ? '?detach=true' : ''}`, undefined, { timeoutMs: LONG_MS });
      ctx.print(res, () => `Destroyed ${addon} and its data${res.detached.length ? ` (detached from ${res.detached.join(', ')})` : ''}\n`);
    },
  },

  'addons:dump': {
    usage: '<addon> > FILE',
    summary: 'Write a dump of the add-on to stdout (pg_dump -Fc / Redis RDB), taken online',
    details: 'Example: hiy addons:dump shop-db > shop-db.pgdump. The dump streams from the server as it is\ntaken; if it is cut off, hiy exits with an error (do not use that file).',
    args: [1, 1],
    async run(ctx) {
      if ((ctx.io.stdout as { isTTY?: boolean }).isTTY === true) throw new UsageError(`the dump is binary: redirect it to a file (hiy addons:dump ${arg(ctx, 0)} > FILE)`);
      const res = await ctx.api().transfer('GET', `/addons/${seg(arg(ctx, 0))}/dump`);
      if (!res.body) throw new CliError('the server sent no dump');
      try {
        await pipeline(Readable.fromWeb(res.body as never), ctx.io.stdout, { end: false });
      } catch (err) {
        throw new CliError(`the dump was cut off (${(err as Error).message}); do not use what was written`, { cause: err });
      }
    },
  },

  'addons:restore': {
    usage: '<addon> < FILE',
    summary: 'Replace the add-on\'s data with a dump read from stdin',
    details: 'Postgres: pg_restore --clean in one transaction (a failure leaves the data as it was; tables\nthat are not in the dump are kept). Redis: the server stops for a moment while its files are\nswapped. A file that is not a dump of that kind is refused before anything changes.',
    args: [1, 1],
    async run(ctx) {
      if (ctx.io.stdin.isTTY === true) throw new UsageError(`give the dump on stdin (hiy addons:restore ${arg(ctx, 0)} < FILE)`);
      const res = await ctx.api().transfer('POST', `/addons/${seg(arg(ctx, 0))}/restore`, { upload: ctx.io.stdin });
      const answer = await res.json() as { addon: string; detail: string };
      ctx.print(answer, () => `Restored ${answer.addon}: ${answer.detail}\n`);
    },
  },

  'addons:upgrade': {
    usage: '<addon>',
    summary: 'Move the add-on to the image HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS names (minor versions in place)',
    details: 'A new major version is refused with the steps that move the data (dump, new add-on, restore).',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ message: string }>('POST', `/addons/${seg(arg(ctx, 0))}/upgrade`, undefined, { timeoutMs: LONG_MS });
      ctx.print(res, () => `${res.message}\n`);
    },
  },

  'addons:restart': {
    usage: '<addon>',
    summary: 'Restart the add-on\'s server (its data stays) and wait until it answers',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ addon: string }>('POST', `/addons/${seg(arg(ctx, 0))}/restart`, undefined, { timeoutMs: LONG_MS });
      ctx.print(res, () => `Restarted ${res.addon}\n`);
    },
  },
};
