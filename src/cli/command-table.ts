/*
 * The table of `hiy` commands: name → { usage, summary, details?, flags?, args, run }.
 *
 * To add a command (deploy, logs, restart, git:remote, releases, rollback, ps, ...):
 *   1. Write it in src/cli/cmd/<topic>.ts as an entry of an exported `CommandTable`
 *      (see cmd/deploys.ts for a short example). In `run(ctx)`:
 *        - positionals are `ctx.args` (their count is checked against `args: [min, max]`),
 *          flags are `ctx.flags` (declared in `flags`, parsed by node:util parseArgs; use
 *          `stringFlag`/`numberFlag` from command.ts);
 *        - call the server only through `ctx.api().request(method, path, body)` (paths are under
 *          /api/v1; wrap user input in `seg()`), which throws a CliError with the API's message;
 *        - print with `ctx.print(apiAnswer, () => humanText)`: --json then prints the API's answer;
 *        - throw `UsageError` for a wrongly called command (exit 2, usage shown) and `CliError`
 *          for anything else (exit 1). Both reach the user as `hiy: <message>` on stderr.
 *   2. Spread the table into COMMANDS below. An alias is the same object under a second name.
 * `hiy help`, `hiy help <cmd>` and `hiy <cmd> --help` are generated from these entries.
 * Tests: spawn the CLI against a real server (tests/cli/).
 */
import type { Command, CommandTable } from './command.js';
import { appCommands } from './cmd/apps.js';
import { deployCommands } from './cmd/deploys.js';
import { releaseCommands } from './cmd/releases.js';
import { domainCommands } from './cmd/domains.js';
import { logCommands } from './cmd/logs.js';
import { processCommands } from './cmd/processes.js';
import { appStateCommands } from './cmd/app-state.js';
import { envCommands } from './cmd/env.js';
import { loginCommands } from './cmd/login.js';
import { tokenCommands } from './cmd/tokens.js';
import { webhookCommands } from './cmd/webhooks.js';
import { certCommands } from './cmd/certs.js';
import { passwordCommands } from './cmd/password.js';
import { registryCommands } from './cmd/registry.js';
import { runCommands } from './cmd/runs.js';
import { versionCommands } from './cmd/version.js';
import { addonCommands } from './cmd/addons.js';
import { nodeCommands } from './cmd/nodes.js';
import { commandHelp, generalHelp } from './help.js';
import { UsageError } from './errors.js';

/**
 * Every command that talks to the API, plus `local`: the commands only the checkout on the box
 * has (`server`, `backup`, `restore`: main.ts), or their laptop stand-ins (laptop.ts). They are
 * passed in so the laptop bundle never pulls the server's modules in.
 */
export function commandTable(local: CommandTable = {}): CommandTable {
  const table: CommandTable = {
    ...loginCommands,
    ...appCommands,
    ...envCommands,
    ...deployCommands,
    ...releaseCommands,
    ...domainCommands,
    ...logCommands,
    ...processCommands,
    ...appStateCommands,
    ...runCommands,
    ...addonCommands,
    ...tokenCommands,
    ...webhookCommands,
    ...registryCommands,
    ...nodeCommands,
    ...certCommands,
    ...passwordCommands,
    ...versionCommands,
    ...local,
  };
  const help: Command = {
    usage: '[command]',
    summary: 'Show the commands, or the help of one',
    args: [0, 1],
    async run(ctx) {
      const name = ctx.args[0];
      if (name === undefined) return ctx.out(generalHelp(table));
      const cmd = table[name];
      if (!cmd) throw new UsageError(`unknown command "${name}" (see hiy help)`);
      ctx.out(commandHelp(table, name, cmd));
    },
  };
  table.help = help;
  return table;
}
