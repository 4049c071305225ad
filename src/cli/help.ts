import type { Command, CommandTable } from './command.js';
import { APP_REMOTE, takesApp } from './app-arg.js';

const COMMON_FLAGS: [string, string][] = [
  ['--json', 'print the API\'s JSON answer instead of text'],
  ['-h, --help', 'show this help'],
];

/** Every name a command object is registered under, the first being the main one. */
function namesOf(table: CommandTable, cmd: Command): string[] {
  return Object.keys(table).filter((n) => table[n] === cmd);
}

export function generalHelp(table: CommandTable): string {
  const seen = new Set<Command>();
  const rows: [string, string][] = [];
  for (const [name, cmd] of Object.entries(table)) {
    if (seen.has(cmd)) continue;
    seen.add(cmd);
    const aliases = namesOf(table, cmd).slice(1);
    rows.push([name, cmd.summary + (aliases.length ? ` (alias: ${aliases.join(', ')})` : '')]);
  }
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    'hiy: manage the apps of your hiy server',
    '',
    'Usage: hiy <command> [arguments] [--json] [--help]',
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`),
    '',
    'The server and token come from HIY_URL and HIY_TOKEN, or from what "hiy login" saved.',
    `<app> may be left out in a repository with a "${APP_REMOTE}" git remote (hiy git:remote <app>), or given as -a <app>.`,
    'Run "hiy help <command>" or "hiy <command> --help" for details.',
    '',
  ].join('\n');
}

export function usageLine(name: string, cmd: Command): string {
  return `Usage: hiy ${name}${cmd.usage ? ` ${cmd.usage}` : ''}`;
}

export function commandHelp(table: CommandTable, name: string, cmd: Command): string {
  const flags: [string, string][] = Object.entries(cmd.flags ?? {}).map(([f, spec]) => [
    `${spec.short ? `-${spec.short}, ` : ''}--${f}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`,
    spec.description,
  ]);
  const appFlag: [string, string][] = takesApp(cmd) ? [['-a, --app APP', `the app (default: the one the "${APP_REMOTE}" git remote of this repository points to)`]] : [];
  const all = [...flags, ...appFlag, ...COMMON_FLAGS];
  const width = Math.max(...all.map(([f]) => f.length));
  const aliases = namesOf(table, cmd).filter((n) => n !== name);
  return [
    usageLine(name, cmd),
    '',
    cmd.summary,
    ...(cmd.details ? ['', cmd.details] : []),
    '',
    'Options:',
    ...all.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
    ...(aliases.length ? ['', `Aliases: ${aliases.join(', ')}`] : []),
    '',
  ].join('\n');
}
