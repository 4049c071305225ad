import { stringFlag, type Ctx } from './command.js';
import { CliError, UsageError } from './errors.js';
import { readLine } from './io.js';

/**
 * Destroying asks for the name: `--confirm <name>` in scripts, typed at a prompt on a terminal.
 * Anything else stops here, before a request is sent.
 */
export async function confirmByName(ctx: Ctx, name: string, what: { kind: string; warning: string }): Promise<void> {
  let confirm = stringFlag(ctx, 'confirm');
  if (confirm === undefined) {
    if (ctx.io.stdin.isTTY !== true) throw new UsageError(`refusing to destroy ${name} without confirmation: pass --confirm ${name}`);
    ctx.io.stderr.write(`${what.warning}\n`);
    confirm = await readLine(ctx.io, `Type the ${what.kind} (${name}) to confirm: `);
  }
  if (confirm !== name) {
    const msg = `confirmation "${confirm ?? ''}" does not match ${name}: nothing destroyed`;
    throw stringFlag(ctx, 'confirm') === undefined ? new CliError(msg) : new UsageError(msg);
  }
}
