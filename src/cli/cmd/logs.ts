import type { LogLineView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, numberFlag, stringFlag, type CommandTable, type Ctx } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { readSse } from '../sse.js';
import { followBuild } from '../follow.js';
import { terminalSafe, terminalSafeLine } from '../../terminal-safe.js';

const RECONNECT_MS = 1000;
const MAX_RECONNECTS = 30;

/** "2026-11-29T10:00:00.123Z web[v3]: text", as Heroku prints "app[web.1]:". */
export function formatLogLine(l: LogLineView): string {
  const time = l.time.replace(/\.(\d{3})\d*Z$/, '.$1Z');
  const rel = l.release !== null ? `v${l.release}` : l.deploy !== null ? `#${l.deploy}` : '';
  // App output goes to the operator's terminal: no escape sequence but colours gets through.
  return `${time} ${l.process}${rel ? `[${rel}]` : ''}: ${terminalSafeLine(l.text)}\n`;
}

function deployId(ctx: Ctx): number {
  const raw = arg(ctx, 1).replace(/^#/, '');
  if (!/^\d+$/.test(raw)) throw new UsageError(`deploy id must be a number, not "${arg(ctx, 1)}"`);
  return Number(raw);
}

/** Follows the app's log stream; reconnects with Last-Event-ID when the connection drops (a hiy restart). */
async function followLogs(ctx: Ctx, app: string, query: URLSearchParams): Promise<void> {
  let last: string | undefined;
  let failures = 0;
  for (;;) {
    try {
      const res = await ctx.api().open(`/apps/${seg(app)}/logs/stream?${query}`, last === undefined ? {} : { headers: { 'last-event-id': last } });
      if (!res.body) throw new CliError('the server sent no stream');
      for await (const e of readSse(res.body)) {
        failures = 0;
        if (e.id !== undefined) last = e.id;
        if (e.event !== 'message') continue;
        ctx.out(ctx.json ? `${e.data}\n` : formatLogLine(JSON.parse(e.data) as LogLineView));
      }
    } catch (err) {
      // An API answer (404, 401) will not change by retrying; a dropped connection may.
      if (err instanceof CliError && err.status !== undefined) throw err;
      if (++failures > MAX_RECONNECTS) throw err;
    }
    await new Promise((r) => setTimeout(r, RECONNECT_MS));
  }
}

export const logCommands: CommandTable = {
  logs: {
    usage: '<app> [-n N] [-f] [--ps TYPE]',
    summary: 'Show the app\'s output (kept across deploys and restarts); -f follows it live',
    details: 'Lines come from every container of the app, each with its time, process type and release.\n'
      + 'hiy keeps the last HIY_LOG_LINES lines per app (10,000 by default).\n'
      + 'Examples:\n  hiy logs blog -n 500\n  hiy logs blog -f --ps worker',
    flags: {
      num: { type: 'string', short: 'n', value: 'N', description: 'how many recent lines (default 100)' },
      tail: { type: 'boolean', short: 'f', alsoShort: 't', description: 'keep following new lines (Ctrl-C stops; -t as in Heroku)' },
      ps: { type: 'string', value: 'TYPE', description: 'only this process type (web, worker, ...)' },
    },
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      const n = numberFlag(ctx, 'num');
      const ps = stringFlag(ctx, 'ps');
      const query = new URLSearchParams();
      if (n !== undefined) query.set('lines', String(n));
      if (ps !== undefined) query.set('process', ps);
      if (ctx.flags.tail === true) return followLogs(ctx, app, query);
      const res = await ctx.api().request<{ app: string; lines: LogLineView[] }>('GET', `/apps/${seg(app)}/logs${query.size ? `?${query}` : ''}`);
      ctx.print(res, () => (res.lines.length === 0 ? `${res.app} has no output yet.\n` : res.lines.map(formatLogLine).join('')));
    },
  },

  'deploys:log': {
    usage: '<app> <deploy> [-f]',
    summary: 'Show a deploy\'s build log; -f follows it live until the deploy ends',
    flags: { tail: { type: 'boolean', short: 'f', description: 'follow a running deploy until it ends (exit 1 if it fails)' } },
    args: [2, 2],
    async run(ctx) {
      const app = arg(ctx, 0);
      const id = deployId(ctx);
      if (ctx.flags.tail === true) return followBuild(ctx, app, id);
      const res = await ctx.api().request<{ deploy: { id: number; status: string; log: string } }>('GET', `/apps/${seg(app)}/deploys/${id}`);
      ctx.print({ deploy: { id: res.deploy.id, status: res.deploy.status, log: res.deploy.log } },
        () => (res.deploy.log ? `${terminalSafe(res.deploy.log)}${res.deploy.log.endsWith('\n') ? '' : '\n'}` : '(no log)\n'));
    },
  },
};
