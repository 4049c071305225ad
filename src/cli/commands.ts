import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Env } from '../config.js';
import { createApiClient, type ApiClient } from './client.js';
import type { Command, Ctx } from './command.js';
import { commandTable } from './command-table.js';
import { CliError, UsageError } from './errors.js';
import { commandHelp, generalHelp, usageLine } from './help.js';
import { processIo, type Io } from './io.js';
import { resolveServer } from './settings.js';
import { takesApp, withApp } from './app-arg.js';
import { terminalSafe } from '../terminal-safe.js';

/**
 * `hiy <command> ...`: everything but `hiy server`. Reads its settings only from `env` (HIY_URL,
 * HIY_TOKEN, HOME) and returns the exit code: 0 ok, 1 error, 2 wrongly called.
 */
export async function runCli(argv: string[], env: Env, io: Io = processIo(), cwd: string = process.cwd(), table = commandTable()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.stdout.write(generalHelp(table));
    return 0;
  }
  // Heroku's and every tool's spelling of "which version is this".
  const name = first === '--version' || first === '-v' ? 'version' : first;
  const cmd = table[name];
  const end = rest.indexOf('--');
  const json = (end < 0 ? rest : rest.slice(0, end)).includes('--json') || (first === '--json');
  try {
    if (!cmd) {
      throw new UsageError(name.startsWith('-')
        ? `the command comes first: hiy <command> ${name} (see hiy help)`
        : `unknown command "${name}" (see hiy help)`);
    }
    const [head, passed] = cmd.passThrough ? splitPassThrough(cmd, rest) : [rest, []];
    const parsed = parseFlags(name, cmd, head);
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(table, name, cmd));
      return 0;
    }
    const app = typeof parsed.values.app === 'string' ? parsed.values.app : undefined;
    const positionals = takesApp(cmd) ? await withApp(cmd, parsed.positionals, app, cwd) : parsed.positionals;
    const [min, max] = cmd.args;
    const n = positionals.length;
    if (n < min) throw new UsageError(`missing argument${min - n > 1 ? 's' : ''}`);
    if (n > max) throw new UsageError(`too many arguments: ${positionals.slice(max).join(' ')}`);
    const code = await cmd.run(makeCtx(name, positionals, passed, parsed.values as Ctx['flags'], env, io));
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    return report(err, io, cmd ? usageLine(name, cmd) : undefined, json);
  }
}

function parseFlags(name: string, cmd: Command, args: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  if (takesApp(cmd)) options.app = { type: 'string', short: 'a' };
  const also = new Map<string, string>();
  for (const [flag, spec] of Object.entries(cmd.flags ?? {})) {
    options[flag] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
    if (spec.alsoShort && spec.short) also.set(`-${spec.alsoShort}`, `-${spec.short}`);
  }
  const end = args.indexOf('--');
  const spelled = args.map((a, i) => ((end < 0 || i < end) ? also.get(a) ?? a : a));
  try {
    return parseArgs({ args: spelled, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(flagProblem(err as Error & { code?: string }, name));
  }
}

/**
 * For `hiy run <app> [flags] [--] <command…>`: the command's own flags and the app come first; the
 * first word after the positionals (or everything after `--`) starts the command line, which is
 * passed on untouched (`hiy run app ls -la` runs `ls -la`).
 */
function splitPassThrough(cmd: Command, args: string[]): [string[], string[]] {
  const positionals = cmd.args[0];
  let seen = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return [args.slice(0, i), args.slice(i + 1)];
    if (a.startsWith('-') && a !== '-') {
      const name = a.replace(/^--?/, '').split('=')[0]!;
      const spec = Object.entries(cmd.flags ?? {}).find(([flag, f]) => flag === name || f.short === name)?.[1];
      if (spec?.type === 'string' && !a.includes('=')) i++;
      continue;
    }
    if (seen++ >= positionals) return [args.slice(0, i), args.slice(i)];
  }
  return [args, []];
}

/** parseArgs' TypeErrors (ERR_PARSE_ARGS_*) in hiy's words; the usage line follows them. */
function flagProblem(err: Error & { code?: string }, name: string): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    return `unknown option ${flag} for hiy ${name} (hiy ${name} --help lists its options; a value starting with "-" goes after "--")`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (/does not take/.test(err.message)) return `${flag} takes no value`;
    if (/ambiguous/.test(err.message)) return `${flag} needs a value; one starting with "-" is written ${flag}=VALUE`;
    return `${flag} needs a value`;
  }
  return err.message;
}

function makeCtx(name: string, args: string[], rest: string[], flags: Ctx['flags'], env: Env, io: Io): Ctx {
  let client: ApiClient | undefined;
  const json = flags.json === true;
  const out = (text: string) => { io.stdout.write(text); };
  return {
    name,
    args,
    rest,
    flags,
    json,
    env,
    io,
    api() {
      if (!client) {
        const { url, token } = resolveServer(env);
        client = createApiClient(url, token);
      }
      return client;
    },
    out,
    print(data, human) {
      out(json ? `${JSON.stringify(data, null, 2)}\n` : human());
    },
  };
}

/**
 * Exit 2 with the usage for a wrongly called command, 1 for anything else. With --json the error
 * is also on stdout as the API writes errors, {"error":{"code","message"}}, so a script reading
 * stdout never gets a human sentence or nothing.
 */
function report(err: unknown, io: Io, usage: string | undefined, json: boolean): number {
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const code = err instanceof UsageError ? 'usage' : err instanceof CliError ? err.code ?? 'error' : 'error';
    io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  }
  if (err instanceof UsageError) {
    io.stderr.write(`hiy: ${err.message}\n${usage ? `${usage}\n` : ''}`);
    return 2;
  }
  // Server messages can quote build or app output: no escape sequences into the terminal.
  io.stderr.write(`hiy: ${terminalSafe(message)}\n`);
  return 1;
}
