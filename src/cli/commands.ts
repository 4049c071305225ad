import type { Env } from '../config.js';

export async function runCli(_argv: string[], _env: Env): Promise<number> {
  process.stderr.write('hiy: the CLI is not built yet\n');
  return 1;
}
