/** Entry of the `hiy` binary: `hiy server` runs the control plane, everything else is the API client. */
export async function main(argv: string[]): Promise<number> {
  const help = argv.slice(1).some((a) => a === '--help' || a === '-h');
  if (argv[0] === 'server' && !help) {
    const { runServer } = await import('../main.js');
    return runServer(process.env, argv.slice(1));
  }
  const { runCli } = await import('./commands.js');
  const { commandTable } = await import('./command-table.js');
  const { opsCommands } = await import('./cmd/ops.js');
  const { serverCommands } = await import('./cmd/server.js');
  return runCli(argv, process.env, undefined, undefined, commandTable({ ...serverCommands, ...opsCommands }));
}
