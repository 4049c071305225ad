import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { getDeploy } from '../../deploy/repo.js';
import type { Services } from '../../services.js';
import { guardApiStream, type ApiEnv } from '../auth.js';
import { parseIntParam, pathApp } from '../body.js';

const FINAL = new Set(['success', 'failed', 'superseded']);
const STATUS_POLL_MS = 2000;
const HEARTBEAT_MS = 15_000;

/**
 * GET /apps/:name/deploys/:id/log/stream: a deploy's output as SSE, one event per line with the
 * line number as id (Last-Event-ID skips what a client already has), live while the deploy waits
 * or runs, then `event: end` with {"status","error"}. A finished deploy sends its stored log.
 */
export function deployLogRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/deploys/:id/log/stream', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const id = parseIntParam('deploy id', c.req.param('id'), 1, Number.MAX_SAFE_INTEGER);
    const rawSkip = c.req.header('last-event-id') ?? c.req.query('since_id');
    const skip = rawSkip === undefined || rawSkip === '' ? 0 : parseIntParam('Last-Event-ID', rawSkip.trim(), 0, Number.MAX_SAFE_INTEGER);
    const deploy = await getDeploy(s.db, app, id);
    const live = FINAL.has(deploy.status) ? undefined : s.observability.liveBuild(id);

    return streamSSE(c, async (stream) => {
      // The token is asked again while the stream is open: a revoked one ends it (auth.ts).
      const state = { aborted: false, wake: () => {} };
      stream.onAbort(() => { state.aborted = true; state.wake(); });
      const unguard = guardApiStream(s, c, () => { state.aborted = true; state.wake(); });
      try {
        await follow(stream, state);
      } finally {
        unguard();
      }
    });

    async function follow(stream: SSEStreamingApi, state: { aborted: boolean; wake: () => void }): Promise<void> {
      let n = 0;
      const sendLine = (line: string) => (++n > skip ? stream.writeSSE({ id: String(n), data: line }) : Promise.resolve());
      if (live) {
        let queued: string[] = [];
        const unsubscribe = live.output.subscribe((line) => { queued.push(line); state.wake(); }, true);
        let finished = false;
        void live.finished.then(() => { finished = true; state.wake(); });
        try {
          let quiet = 0;
          while (!state.aborted) {
            const batch = queued;
            queued = [];
            for (const l of batch) await sendLine(l);
            if (finished) break;
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, STATUS_POLL_MS);
              state.wake = () => { clearTimeout(t); resolve(); };
            });
            if (queued.length || finished || state.aborted) continue;
            // Word of the end can be missed in a narrow window: the row is the truth.
            if (FINAL.has((await getDeploy(s.db, app, id)).status)) break;
            if ((quiet += STATUS_POLL_MS) >= HEARTBEAT_MS) {
              quiet = 0;
              await stream.write(': keep-alive\n\n');
            }
          }
        } finally {
          unsubscribe();
          live.cancel();
        }
        if (state.aborted) return;
        for (const l of queued) await sendLine(l);
        return sendEnd(stream, await getDeploy(s.db, app, id));
      }
      // Not in the queue: finished (maybe just now, so read again) or interrupted by a restart.
      const row = FINAL.has(deploy.status) ? deploy : await getDeploy(s.db, app, id);
      for (const l of splitLog(row.log)) await sendLine(l);
      await sendEnd(stream, row);
    }
  });

  return r;
}

function splitLog(log: string): string[] {
  const lines = log.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

async function sendEnd(stream: SSEStreamingApi, d: { status: string; error: string | null }): Promise<void> {
  await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: d.status, error: d.error }) });
}
