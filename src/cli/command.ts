import type { Env } from '../config.js';
import type { ApiClient } from './client.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Another one-letter spelling, e.g. Heroku's `logs -t` next to `-f`. */
  alsoShort?: string;
  /** A string flag that may be given more than once (`--node-label a=1 --node-label b=2`). */
  multiple?: boolean;
  /** Placeholder in help, e.g. "URL". */
  value?: string;
  description: string;
}

/** One `hiy <name>` command. See command-table.ts for how to add one. */
export interface Command {
  /** What follows the command name, e.g. "<app> [--repo URL]". */
  usage: string;
  /** One line for `hiy help`. */
  summary: string;
  /** More text for `hiy help <cmd>`: details, examples. */
  details?: string;
  /** Flags besides the ones every command has (--json, --help). */
  flags?: Record<string, FlagSpec>;
  /** How many positional arguments it takes: [min, max]; max Infinity for lists. */
  args: [number, number];
  /**
   * A command line follows the positional arguments (hiy run <app> <command…>): everything after
   * them, or after `--`, is passed on untouched in ctx.rest, flags included.
   */
  passThrough?: boolean;
  /**
   * For a command whose usage starts with `<app>`: a first argument matching this is what comes
   * after the app (`rollback v3`), and the app comes from the git remote (app-arg.ts).
   */
  notApp?: RegExp;
  /** Resolves the exit code when it is not 0 (hiy run passes the program's on). */
  run(ctx: Ctx): Promise<void | number>;
}

export type CommandTable = Record<string, Command>;

export interface Ctx {
  /** The command name as typed (an alias stays an alias). */
  name: string;
  args: string[];
  /** What follows the positionals of a passThrough command. */
  rest: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
  /** --json: print the API's answer as it came. */
  json: boolean;
  env: Env;
  io: Io;
  /** A client for the configured server; throws when none is configured. */
  api(): ApiClient;
  out(text: string): void;
  /** Prints `data` as JSON with --json, otherwise what `human` returns. */
  print(data: unknown, human: () => string): void;
}

export function stringFlag(ctx: Ctx, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A flag given any number of times (FlagSpec.multiple); undefined when absent. */
export function listFlag(ctx: Ctx, name: string): string[] | undefined {
  const v = ctx.flags[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined;
}

/** A numeric flag; the server checks the range, the CLI only that it is a number. */
export function numberFlag(ctx: Ctx, name: string): number | undefined {
  const v = stringFlag(ctx, name);
  if (v === undefined) return undefined;
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(v.trim())) throw new UsageError(`--${name} must be a number, not "${v}"`);
  return Number(v);
}

/** The n-th positional argument; the table's arg counts guarantee it exists. */
export function arg(ctx: Ctx, i: number): string {
  const v = ctx.args[i];
  if (v === undefined) throw new UsageError('missing argument');
  return v;
}
