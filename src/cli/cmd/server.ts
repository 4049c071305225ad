import type { CommandTable } from '../command.js';
import { CliError } from '../errors.js';

const serverHelp = {
  usage: '[--env-file FILE]',
  summary: 'Run the control plane (on the box; the installer runs it as hiy.service)',
  details: 'Configuration comes from HIY_* environment variables (README "Operator contract");\n'
    + '--env-file reads a file of HIY_*= lines itself, its values winning (the installer\'s /etc/hiy/hiy.env).\n'
    + 'It stops gracefully on SIGTERM.',
  flags: { 'env-file': { type: 'string' as const, value: 'FILE', description: 'read HIY_* settings from this file' } },
  args: [0, 0] as [number, number],
};

/**
 * `hiy server` as a table entry, so `hiy help` lists it and `hiy server --help` prints help:
 * main.ts starts the server itself before the table is reached.
 */
export const serverCommands: CommandTable = {
  server: { ...serverHelp, async run() { throw new CliError('hiy server is started by main.ts'); } },
};

/** The laptop CLI (one bundled file) has no server in it. */
export const laptopServerCommands: CommandTable = {
  server: {
    ...serverHelp,
    summary: 'Not in this file: the laptop CLI only talks to a server (install hiy on the box itself)',
    async run() {
      throw new CliError('this is the laptop CLI, which only talks to a hiy server: the server itself runs from a checkout on the box (sudo infra/install.sh, docs/setup.md)');
    },
  },
};
