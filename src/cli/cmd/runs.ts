import { moreLine, pageFlags, pageQueryOf } from '../paging.js';
import type { CronJobView, RunDetail, RunView } from '../../contract.js';
import { terminalSafe, terminalSafeLine } from '../../terminal-safe.js';
import { seg } from '../client.js';
import { arg, numberFlag, stringFlag, type Command, type CommandTable, type Ctx } from '../command.js';
import { UsageError } from '../errors.js';
import { formatDuration, formatTable, formatTime } from '../format.js';
import { relayTerminal, terminalSize } from '../run-channel.js';

/** How a run ended, in a few words: `exit 0`, `exit 137 (stopped after 60 s …)`, `skipped: …`. */
function outcome(r: RunView): string {
  if (r.status === 'running') return 'running';
  if (r.status === 'exited') return `exit ${r.exit_code ?? '?'}${r.reason ? ` (${r.reason})` : ''}`;
  return `${r.status}${r.reason ? `: ${r.reason}` : ''}`;
}

function runId(ctx: Ctx, i: number): number {
  const raw = arg(ctx, i).replace(/^#/, '');
  if (!/^\d+$/.test(raw)) throw new UsageError(`run id must be a number, not "${arg(ctx, i)}"`);
  return Number(raw);
}

function showRun(r: RunDetail): string {
  const head = `run #${r.id} of ${r.app} (${r.kind}${r.job ? ` ${r.job}` : ''}, ${r.mode}) by ${r.by}: ${terminalSafeLine(r.command)}\n`
    + `  release v${r.release ?? '?'}, started ${formatTime(r.started_at)}, ${r.finished_at ? `took ${formatDuration(r.started_at, r.finished_at)}` : 'still running'}: ${outcome(r)}\n`;
  if (r.output === null) return head;
  return `${head}${r.output ? terminalSafe(r.output).replace(/^/gm, '  | ').replace(/\n {2}\| $/, '\n') : '  (no output)\n'}`;
}

/**
 * Opens a run channel at `path` (query `q` plus the terminal's part) and relays it: a TTY when
 * stdin and stdout are one (unless --no-tty), pipes otherwise; resolves the program's exit code.
 */
async function attachedChannel(ctx: Ctx, path: string, q: URLSearchParams): Promise<number> {
  const out = ctx.io.stdout as typeof ctx.io.stdout & { isTTY?: boolean; columns?: number; rows?: number };
  const tty = ctx.flags['no-tty'] !== true && ctx.io.stdin.isTTY === true && out.isTTY === true;
  q.set('tty', tty ? '1' : '0');
  const size = tty ? terminalSize(out) : undefined;
  if (size) { q.set('cols', String(size.cols)); q.set('rows', String(size.rows)); }
  const ws = await ctx.api().socket(`${path}?${q}`);
  return relayTerminal(ws, ctx.io, tty, () => undefined);
}

/** hiy pg:psql / redis:cli: the add-on's own client in its container, over the run channel. */
function addonClient(kind: 'postgres' | 'redis', client: string, example: string): Command {
  return {
    usage: '<app|addon> [--no-tty]',
    summary: `Open ${client} on an add-on, inside its container (an app: the ${kind === 'postgres' ? 'PostgreSQL' : 'Redis'} add-on attached to it)`,
    details: `Given an app, the one ${kind} add-on attached to it; given an add-on name, that one. The client runs in the\n`
      + 'add-on\'s container with its own credentials (no password on any command line). With a terminal it is interactive;\n'
      + `otherwise stdin is piped to it and its exit code is hiy's. Recorded in hiy runs <app> as a console session.\n`
      + (kind === 'postgres'
        ? `Examples:\n  hiy pg:psql ${example}\n  echo 'select count(*) from users' | hiy pg:psql ${example}-db\n`
        : `Examples:\n  hiy redis:cli ${example}\n  echo 'GET counter' | hiy redis:cli ${example}-cache\n`),
    flags: { 'no-tty': { type: 'boolean', description: 'no terminal even when stdin and stdout are one' } },
    args: [1, 1],
    async run(ctx) {
      return attachedChannel(ctx, `/addons/${seg(arg(ctx, 0))}/client`, new URLSearchParams({ kind }));
    },
  };
}

export const runCommands: CommandTable = {
  run: {
    usage: '<app> [--type T] [--detach] [--no-tty] [--timeout S] [--] <command> [args…]',
    summary: 'Run a one-off command in a new container of the app\'s current release (hiy run blog bash)',
    details: 'The container gets the app\'s env vars, limits, network and volume, and is removed when the command ends.\n'
      + 'With a terminal on stdin and stdout the command gets one (raw mode: Ctrl-C and Ctrl-D reach it; resizes too);\n'
      + 'otherwise stdin is piped to it (hiy run blog -- psql < dump.sql). The exit code is the command\'s.\n'
      + 'One argument with spaces runs through /bin/sh -c; one that names a Procfile type runs its command.\n'
      + 'Examples:\n  hiy run blog bash\n  hiy run blog -- node scripts/migrate.js --dry-run\n  hiy run blog --detach -- node jobs/reindex.js',
    flags: {
      type: { type: 'string', value: 'T', description: 'process type it is labelled with (default run)' },
      detach: { type: 'boolean', description: 'run in the background; hiy runs <app> <id> shows how it ended and its output' },
      'no-tty': { type: 'boolean', description: 'no terminal even when stdin and stdout are one' },
      timeout: { type: 'string', value: 'S', description: 'stop it after S seconds (default: HIY_RUN_TIMEOUT, none unless set)' },
    },
    args: [1, 1],
    passThrough: true,
    async run(ctx) {
      const app = arg(ctx, 0);
      if (ctx.rest.length === 0) throw new UsageError('no command given (hiy run <app> -- <command> [args…])');
      const timeout = numberFlag(ctx, 'timeout');
      const type = stringFlag(ctx, 'type');
      if (ctx.flags.detach === true) {
        const res = await ctx.api().request<{ run: RunView }>('POST', `/apps/${seg(app)}/runs`, { command: ctx.rest, ...(type ? { type } : {}), ...(timeout !== undefined ? { timeout } : {}) });
        ctx.print(res, () => `Started run #${res.run.id} of ${app} in the background (release v${res.run.release ?? '?'}).\nhiy runs ${app} ${res.run.id} shows how it ended and its output.\n`);
        return 0;
      }
      const q = new URLSearchParams();
      for (const a of ctx.rest) q.append('cmd', a);
      if (type) q.set('type', type);
      if (timeout !== undefined) q.set('timeout', String(timeout));
      return attachedChannel(ctx, `/apps/${seg(app)}/run`, q);
    },
  },

  'pg:psql': addonClient('postgres', 'psql', 'shop'),
  'redis:cli': addonClient('redis', 'redis-cli', 'shop'),

  runs: {
    usage: '<app> [<run>] [-n N] [--before ID]',
    summary: 'Every one-off run and console session of the app (who, command, when, exit code); one run with its output',
    flags: { num: { type: 'string', short: 'n', value: 'N', description: 'how many, newest first (default 50, at most 500)' }, ...pageFlags('runs', 'the same as -n') },
    args: [1, 2],
    async run(ctx) {
      const app = arg(ctx, 0);
      if (ctx.args[1] !== undefined) {
        const res = await ctx.api().request<{ run: RunDetail }>('GET', `/apps/${seg(app)}/runs/${runId(ctx, 1)}`);
        return ctx.print(res, () => showRun(res.run));
      }
      const res = await ctx.api().request<{ app: string; runs: RunView[]; next: number | null }>('GET', `/apps/${seg(app)}/runs${pageQueryOf(ctx, 'num')}`);
      ctx.print(res, () => (res.runs.length === 0 ? `${app} has no runs yet (hiy run ${app} <command>).\n` : formatTable(
        ['ID', 'KIND', 'BY', 'COMMAND', 'STARTED', 'TOOK', 'RESULT'],
        res.runs.map((r) => [r.id, `${r.kind}${r.mode === 'detached' ? ' (detached)' : ''}`, r.by, terminalSafeLine(r.command).slice(0, 60), formatTime(r.started_at), formatDuration(r.started_at, r.finished_at), outcome(r)]),
      ) + moreLine(res.next, `hiy runs ${app}`)));
    },
  },

  cron: {
    usage: '<app>',
    summary: 'The app\'s scheduled jobs (app.json "cron"): schedule, command, next run, last result',
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      const res = await ctx.api().request<{ app: string; timezone: string; jobs: CronJobView[] }>('GET', `/apps/${seg(app)}/cron`);
      ctx.print(res, () => (res.jobs.length === 0 ? `${app} has no cron jobs (add "cron" to app.json and push).\n` : formatTable(
        ['ID', 'SCHEDULE', 'COMMAND', 'NEXT', 'LAST'],
        res.jobs.map((j) => [j.id, j.schedule, terminalSafeLine(j.command).slice(0, 50), j.maintenance ? 'maintenance' : formatTime(j.next_run),
          j.running !== null ? `running (#${j.running})` : j.last ? `${outcome(j.last)} ${formatTime(j.last.started_at)}` : 'never ran']),
      ) + `Times are in ${res.timezone}.\n`));
    },
  },

  'cron:run': {
    usage: '<app> <job>',
    summary: 'Run a cron job now (in the background; hiy cron:logs shows it)',
    args: [2, 2],
    async run(ctx) {
      const app = arg(ctx, 0);
      const job = arg(ctx, 1);
      const res = await ctx.api().request<{ run: RunView }>('POST', `/apps/${seg(app)}/cron/${seg(job)}/run`);
      ctx.print(res, () => `Started run #${res.run.id} of cron job ${job}; hiy cron:logs ${app} ${job} shows how it went.\n`);
    },
  },

  'cron:logs': {
    usage: '<app> [<job>] [-n N]',
    summary: 'Recent runs of the app\'s cron jobs (or one job) with their output, newest first',
    flags: { num: { type: 'string', short: 'n', value: 'N', description: 'how many runs (default 20)' } },
    args: [1, 2],
    async run(ctx) {
      const app = arg(ctx, 0);
      const q = new URLSearchParams();
      if (ctx.args[1] !== undefined) q.set('job', ctx.args[1]);
      const n = numberFlag(ctx, 'num');
      if (n !== undefined) q.set('limit', String(n));
      const res = await ctx.api().request<{ app: string; runs: RunDetail[] }>('GET', `/apps/${seg(app)}/cron/runs${q.size ? `?${q}` : ''}`);
      ctx.print(res, () => (res.runs.length === 0 ? `No cron runs of ${app} yet.\n` : res.runs.map(showRun).join('')));
    },
  },
};
