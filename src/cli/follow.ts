import { seg } from './client.js';
import type { Ctx } from './command.js';
import { CliError } from './errors.js';
import { readSse } from './sse.js';
import { terminalSafeLine } from '../terminal-safe.js';

/**
 * Prints a deploy's build log live from its SSE stream until the deploy ends (one connection,
 * no polling); fails when the deploy did. With --json: one {"line"} object per line, then the
 * stream's end event ({status, error}).
 */
export async function followBuild(ctx: Ctx, app: string, id: number): Promise<void> {
  const res = await ctx.api().open(`/apps/${seg(app)}/deploys/${id}/log/stream`);
  if (!res.body) throw new CliError('the server sent no stream');
  for await (const e of readSse(res.body)) {
    if (e.event === 'end') {
      const end = JSON.parse(e.data) as { status: string; error: string | null };
      if (ctx.json) ctx.out(`${e.data}\n`);
      if (end.status !== 'success') throw new CliError(`deploy #${id} ${end.status}${end.error ? `: ${end.error}` : ''}`);
      return;
    }
    ctx.out(ctx.json ? `${JSON.stringify({ line: e.data })}\n` : `${terminalSafeLine(e.data)}\n`);
  }
  throw new CliError('the log stream ended before the deploy did (is hiy restarting?)');
}


/** Waits, over the same stream and without printing it, until a deploy (of any app) has ended. */
export async function waitDeployEnd(ctx: Ctx, app: string, id: number): Promise<void> {
  const res = await ctx.api().open(`/apps/${seg(app)}/deploys/${id}/log/stream`);
  if (!res.body) throw new CliError('the server sent no stream');
  for await (const e of readSse(res.body)) if (e.event === 'end') return;
}
