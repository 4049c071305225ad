import { Hono, type Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { HiyError } from '../../errors.js';
import type { StoredLine } from '../../logs/store.js';
import { ReleaseVersions } from '../../logs/view.js';
import type { Services } from '../../services.js';
import { guardApiStream, type ApiEnv } from '../auth.js';
import { parseIntParam, pathApp } from '../body.js';

const HEARTBEAT_MS = 15_000;
const PROCESS_RE = /^[a-z][a-z0-9_-]{0,29}$/;

function processParam(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!PROCESS_RE.test(raw)) throw new HiyError('invalid_input', 'process must be a process type name such as web or worker');
  return raw;
}

/** Last-Event-ID from the header (EventSource reconnects) or ?since_id= (a first connect that resumes). */
function lastEventId(header: string | undefined, query: string | undefined): number | undefined {
  const raw = header ?? query;
  if (raw === undefined || raw === '') return undefined;
  return parseIntParam('Last-Event-ID', raw.trim(), 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Resolves after `ms`, or earlier when `wake` is called; the timer is cleared either way (a closed
 * stream must not leave a 15 s timer behind per client).
 */
function nap(ms: number, setWake: (w: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    setWake(() => { clearTimeout(timer); resolve(); });
  });
}

/** GET /apps/:name/logs (JSON) and /apps/:name/logs/stream (SSE, resumable). */
export function logRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  /** The app in the path, ?lines= (100 unless given, minLines..the ring size) and ?process=. */
  const logQuery = async (c: Context<ApiEnv>, minLines: number) => {
    const app = (await pathApp(s.db, c)).name;
    const raw = c.req.query('lines');
    const lines = raw === undefined ? 100 : parseIntParam('lines', raw, minLines, s.observability.logs.maxLines);
    return { app, store: s.observability.logs, lines, process: processParam(c.req.query('process')) };
  };

  r.get('/:name/logs', async (c) => {
    const { app, store, lines, process } = await logQuery(c, 1);
    const rows = await store.tail(app, lines, process);
    return c.json({ app, lines: await new ReleaseVersions(s.db, app).view(rows) });
  });

  r.get('/:name/logs/stream', async (c) => {
    const { app, store, lines: initial, process } = await logQuery(c, 0);
    const resumeAfter = lastEventId(c.req.header('last-event-id'), c.req.query('since_id'));
    const versions = new ReleaseVersions(s.db, app);

    return streamSSE(c, async (stream) => {
      let queued: StoredLine[] = [];
      let wake = () => {};
      let done = false;
      // Subscribed before reading the backlog: a line stored in between is in one or both, never in neither.
      const unsubscribe = store.subscribe((lines) => {
        for (const l of lines) if (l.app === app && (!process || l.process === process)) queued.push(l);
        if (queued.length > store.maxLines) queued = queued.slice(-store.maxLines);
        wake();
      });
      stream.onAbort(() => { done = true; wake(); });
      void store.closed.then(() => { done = true; wake(); });
      const unguard = guardApiStream(s, c, () => { done = true; wake(); });
      try {
        const backlog = resumeAfter !== undefined ? await store.after(app, resumeAfter, store.maxLines, process) : initial > 0 ? await store.tail(app, initial, process) : [];
        let last = backlog.at(-1)?.seq ?? resumeAfter ?? -1;
        await send(stream, versions, backlog);
        while (!done) {
          if (queued.length === 0) {
            await nap(HEARTBEAT_MS, (w) => { wake = w; });
            if (queued.length === 0 && !done) await stream.write(': keep-alive\n\n');
            continue;
          }
          const batch = queued.filter((l) => l.seq > last);
          queued = [];
          if (batch.length === 0) continue;
          last = batch.at(-1)!.seq;
          await send(stream, versions, batch);
        }
      } finally {
        unsubscribe();
        unguard();
      }
    });
  });

  return r;
}

async function send(stream: SSEStreamingApi, versions: ReleaseVersions, lines: StoredLine[]): Promise<void> {
  for (const v of await versions.view(lines)) await stream.writeSSE({ id: String(v.id), data: JSON.stringify(v) });
}
