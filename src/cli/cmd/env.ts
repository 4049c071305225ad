import { seg } from '../client.js';
import { arg, type Command, type CommandTable, type Ctx } from '../command.js';
import { UsageError } from '../errors.js';

// Values are shown only with --reveal: the API masks them otherwise, and the CLI never logs them.

interface EnvList { app: string; revealed: boolean; env: Record<string, string>; managed?: Record<string, string> }
interface EnvChange { app: string; set?: string[]; unset?: string[]; restarted: boolean; deploy_id?: number }

const noRestart = { type: 'boolean', description: 'save only; the running release keeps its old env until the next deploy or restart' } as const;

function restartNote(ctx: Ctx, res: EnvChange): string {
  if (res.restarted) return `Restarting ${res.app} (deploy #${res.deploy_id ?? '?'}).\n`;
  if (ctx.flags['no-restart'] === true) return 'Not restarted (--no-restart): the change applies at the next deploy or restart.\n';
  return 'The change applies at the next deploy or restart.\n';
}

function parseAssignments(pairs: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`"${p.length > 40 ? `${p.slice(0, 40)}…` : p}" is not KEY=value`);
    vars[p.slice(0, i)] = p.slice(i + 1);
  }
  return vars;
}

const list: Command = {
  usage: '<app> [--reveal]',
  summary: 'List an app\'s env vars (values hidden unless --reveal)',
  flags: { reveal: { type: 'boolean', description: 'show the values' } },
  args: [1, 1],
  async run(ctx) {
    const reveal = ctx.flags.reveal === true;
    const res = await ctx.api().request<EnvList>('GET', `/apps/${seg(arg(ctx, 0))}/env${reveal ? '?reveal=true' : ''}`);
    ctx.print(res, () => {
      const keys = Object.keys(res.env);
      if (keys.length === 0) return `${res.app} has no env vars. Set some with: hiy env:set ${res.app} KEY=value\n`;
      const width = Math.max(...keys.map((k) => k.length)) + 1;
      const managed = res.managed ?? {};
      const lines = keys.map((k) => `${`${k}:`.padEnd(width)}  ${res.env[k]}${managed[k] ? `   (managed: add-on ${managed[k]})` : ''}`).join('\n');
      return `${lines}\n${res.revealed ? '' : '(values hidden; add --reveal to show them)\n'}`;
    });
  },
};

const get: Command = {
  usage: '<app> [KEY] [--reveal]',
  summary: 'Print one env var (or list them all)',
  details: 'Prints the value alone, for scripts: hiy env:get blog DATABASE_URL --reveal',
  flags: list.flags,
  args: [1, 2],
  async run(ctx) {
    if (ctx.args.length === 1) return list.run(ctx);
    const reveal = ctx.flags.reveal === true;
    const res = await ctx.api().request<{ value: string; revealed: boolean }>('GET', `/apps/${seg(arg(ctx, 0))}/env/${seg(arg(ctx, 1))}${reveal ? '?reveal=true' : ''}`);
    // A script reading `$(hiy config:get app KEY)` would silently get the mask: say so, apart from stdout.
    if (!res.revealed) ctx.io.stderr.write(`hiy: ${arg(ctx, 1)} is masked; add --reveal for its value\n`);
    ctx.print(res, () => `${res.value}\n`);
  },
};

const set: Command = {
  usage: '<app> KEY=value... [--no-restart]',
  summary: 'Set env vars (several at once) and restart the app',
  details: 'Everything after the first "=" is the value. All are set or none.\nExample: hiy env:set blog SECRET_KEY=abc DEBUG=0',
  flags: { 'no-restart': noRestart },
  args: [2, Infinity],
  async run(ctx) {
    const vars = parseAssignments(ctx.args.slice(1));
    const body = { vars, ...(ctx.flags['no-restart'] === true ? { restart: false } : {}) };
    const res = await ctx.api().request<EnvChange>('PATCH', `/apps/${seg(arg(ctx, 0))}/env`, body);
    ctx.print(res, () => `Set ${(res.set ?? []).join(', ')} on ${res.app}.\n${restartNote(ctx, res)}`);
  },
};

const unset: Command = {
  usage: '<app> KEY... [--no-restart]',
  summary: 'Remove env vars and restart the app',
  flags: { 'no-restart': noRestart },
  args: [2, Infinity],
  async run(ctx) {
    const keys = ctx.args.slice(1);
    // Keys are names (letters, digits, _): nothing to escape in the query but what seg() does.
    const query = `keys=${keys.map(seg).join(',')}${ctx.flags['no-restart'] === true ? '&restart=false' : ''}`;
    const res = await ctx.api().request<EnvChange>('DELETE', `/apps/${seg(arg(ctx, 0))}/env?${query}`);
    ctx.print(res, () => ((res.unset ?? []).length === 0
      ? `None of ${keys.join(', ')} was set on ${res.app}; nothing changed.\n`
      : `Unset ${(res.unset ?? []).join(', ')} on ${res.app}.\n${restartNote(ctx, res)}`));
  },
};

/** Heroku's config:* names are aliases of the same commands. */
export const envCommands: CommandTable = {
  env: list,
  'env:get': get,
  'env:set': set,
  'env:unset': unset,
  config: list,
  'config:get': get,
  'config:set': set,
  'config:unset': unset,
};
