import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Env } from '../config.js';
import { createApiClient, type ApiClient } from './client.js';
import type { Command, Ctx } from './command.js';
import { commandTable } from './command-table.js';
import { CliError, UsageError } from './errors.js';
import { commandHelp, generalHelp, usageLine } from './help.js';
import { processIo, type Io } from './io.js';
import { resolveServer } from './settings.js';
import { terminalSafe } from '../terminal-safe.js';

/**
 * `hiy <command> ...`: everything but `hiy server`. Reads its settings only from `env` (HIY_URL,
 * HIY_TOKEN, HOME) and returns the exit code: 0 ok, 1 error, 2 wrongly called.
 */
export async function runCli(argv: string[], env: Env, io: Io = processIo()): Promise<number> {
  const table = commandTable();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(generalHelp(table));
    return 0;
  }
  const cmd = table[name];
  try {
    if (!cmd) {
      throw new UsageError(name.startsWith('-')
        ? `the command comes first: hiy <command> ${name} (see hiy help)`
        : `unknown command "${name}" (see hiy help)`);
    }
    const [head, passed] = cmd.passThrough ? splitPassThrough(cmd, rest) : [rest, []];
    const parsed = parseFlags(cmd, head);
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(table, name, cmd));
      return 0;
    }
    const [min, max] = cmd.args;
    const n = parsed.positionals.length;
    if (n < min) throw new UsageError(`missing argument${min - n > 1 ? 's' : ''}`);
    if (n > max) throw new UsageError(`too many arguments: ${parsed.positionals.slice(max).join(' ')}`);
    const code = await cmd.run(makeCtx(name, parsed.positionals, passed, parsed.values as Ctx['flags'], env, io));
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    return report(err, io, cmd ? usageLine(name, cmd) : undefined);
  }
}

function parseFlags(cmd: Command, args: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag, spec] of Object.entries(cmd.flags ?? {})) {
    options[flag] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed flags.
    throw new UsageError((err as Error).message);
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

function report(err: unknown, io: Io, usage: string | undefined): number {
  if (err instanceof UsageError) {
    io.stderr.write(`hiy: ${err.message}\n${usage ? `${usage}\n` : ''}`);
    return 2;
  }
  const message = err instanceof CliError ? err.message : (err as Error)?.message ?? String(err);
  // Server messages can quote build or app output: no escape sequences into the terminal.
  io.stderr.write(`hiy: ${terminalSafe(message)}\n`);
  return 1;
}
