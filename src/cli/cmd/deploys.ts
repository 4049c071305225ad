import type { DeploySummary } from '../../contract.js';
import { seg } from '../client.js';
import { pageFlags, pageQueryOf, moreLine } from '../paging.js';
import { arg, type CommandTable } from '../command.js';
import { UsageError } from '../errors.js';
import { formatDuration, formatPairs, formatTable, formatTime, shortSha } from '../format.js';

export const deployCommands: CommandTable = {
  deploys: {
    usage: '<app> [--limit N] [--before ID]',
    summary: 'List an app\'s deploys, newest first',
    flags: pageFlags('deploys', 'default 20, at most 200'),
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; deploys: DeploySummary[]; next: number | null }>(
        'GET', `/apps/${seg(arg(ctx, 0))}/deploys${pageQueryOf(ctx)}`);
      ctx.print(res, () => (res.deploys.length === 0
        ? `${res.app} has no deploys yet. Push to its git remote to deploy (hiy info ${res.app}).\n`
        : formatTable(['ID', 'STATUS', 'SHA', 'TRIGGER', 'CREATED', 'TOOK'], res.deploys.map((d) => [
          d.id, d.status, shortSha(d.sha), d.triggered_by, formatTime(d.created_at), formatDuration(d.started_at, d.finished_at),
        ])) + moreLine(res.next, `hiy deploys ${res.app}`)));
    },
  },

  'deploys:info': {
    usage: '<app> <id>',
    summary: 'Show one deploy with its log',
    args: [2, 2],
    async run(ctx) {
      const id = arg(ctx, 1).replace(/^#/, '');
      if (!/^\d+$/.test(id)) throw new UsageError(`deploy id must be a number, not "${arg(ctx, 1)}"`);
      const res = await ctx.api().request<{ deploy: DeploySummary & { log: string } }>('GET', `/apps/${seg(arg(ctx, 0))}/deploys/${id}`);
      const d = res.deploy;
      ctx.print(res, () => formatPairs([
        ['deploy', `#${d.id}`],
        ['status', d.status],
        ['sha', d.sha],
        ['trigger', d.triggered_by],
        ['created', formatTime(d.created_at)],
        ['took', formatDuration(d.started_at, d.finished_at)],
        ...(d.error ? [['error', d.error] as [string, string]] : []),
      ]) + (d.log ? `\n${d.log}${d.log.endsWith('\n') ? '' : '\n'}` : '\n(no log)\n'));
    },
  },
};
