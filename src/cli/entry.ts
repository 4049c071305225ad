// Runnable entry for tests and bin/hiy.js: `node dist/src/cli/entry.js <args>`.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`hiy: ${(err as Error)?.message ?? String(err)}\n`); process.exitCode = 1; },
);
