/** What a one-off container runs, from what was typed (hiy run, the console) or scheduled (app.json). */
import { shellCommand, type Processes } from '../build/procfile.js';
import { HiyError } from '../errors.js';

export const MAX_ARGS = 256;
export const MAX_COMMAND_BYTES = 16 * 1024;

/** Checks a command given as arguments: 1-256 strings, 16 KB together, no NUL. */
export function validateArgv(argv: unknown): string[] {
  if (!Array.isArray(argv) || argv.length === 0 || argv.length > MAX_ARGS || !argv.every((a) => typeof a === 'string')) {
    throw new HiyError('invalid_input', `command must be a list of 1-${MAX_ARGS} strings (hiy run <app> -- <command> [args…])`);
  }
  const list = argv as string[];
  if (list[0] === '' || list.some((a) => a.includes('\0'))) throw new HiyError('invalid_input', 'command must start with a program name and contain no NUL character');
  if (Buffer.byteLength(list.join(' ')) > MAX_COMMAND_BYTES) throw new HiyError('invalid_input', `command is longer than ${MAX_COMMAND_BYTES / 1024} KB`);
  return list;
}

// A single argument with any of these is a shell command line ("ls | wc -l").
const SHELL_CHARS = /[\s;&|<>()$`\\*?'"~#=]/;

/**
 * The container's command. As Dokku does, one argument that names a Procfile process type runs
 * that type's command; one argument that is a command line (spaces, pipes, …) runs through
 * /bin/sh -c, as Heroku's `run "…"` does; anything else runs as given, without a shell.
 */
export function containerCommand(argv: string[], processes: Processes): string[] {
  if (argv.length === 1) {
    const only = argv[0]!;
    const procfile = Object.hasOwn(processes, only) ? processes[only] : undefined;
    if (procfile !== undefined) return shellCommand(procfile);
    if (SHELL_CHARS.test(only)) return ['/bin/sh', '-c', only];
  }
  return argv;
}

/** A cron job's command: a Procfile process type's command, or a shell command line. */
export function jobCommand(command: string, processes: Processes): string[] {
  const procfile = Object.hasOwn(processes, command) ? processes[command] : undefined;
  return shellCommand(procfile ?? command);
}

/** The command as the audit shows it: arguments with spaces or shell characters quoted. */
export function displayCommand(argv: string[]): string {
  return argv.map((a) => (a === '' || SHELL_CHARS.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}
