// Entry of the laptop CLI: scripts/bundle-cli.mjs bundles this file and what it imports into one
// file with no native module and no node_modules (dist/cli/hiy.mjs), which hiy serves at /cli/hiy.
// It has every command that talks to the API; `hiy server`, `backup` and `restore` run on the box.
import { runCli } from './commands.js';
import { commandTable } from './command-table.js';
import { laptopServerCommands } from './cmd/server.js';
import { processIo } from './io.js';

runCli(process.argv.slice(2), process.env, processIo(), process.cwd(), commandTable(laptopServerCommands)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`hiy: ${(err as Error)?.message ?? String(err)}\n`); process.exitCode = 1; },
);
