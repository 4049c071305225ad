/** Entry of the `hiy` binary: `hiy server` runs the control plane, everything else is the API client. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'server') {
    const { runServer } = await import('../main.js');
    return runServer(process.env, argv.slice(1));
  }
  const { runCli } = await import('./commands.js');
  return runCli(argv, process.env);
}
