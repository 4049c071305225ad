import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { guardStream } from '../src/auth/stream-guard.js';

/**
 * An SSE response whose writes go out in order, with a comment every 15 s so proxies and phones
 * keep the connection, ending when `run` resolves, the client goes away, or `stillValid` (the
 * session it was opened with, asked every 10 s: stream-guard.ts) says no: `closed` resolves then.
 */
export function sse(c: Context, stillValid: () => Promise<boolean>, run: (send: (event: string, data: string, id?: string) => void, closed: Promise<void>) => Promise<void>): Response {
  c.header('cache-control', 'no-store');
  c.header('x-accel-buffering', 'no');
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    let chain: Promise<void> = Promise.resolve();
    let gone = false;
    let markClosed!: () => void;
    const closed = new Promise<void>((r) => { markClosed = r; });
    stream.onAbort(() => { gone = true; markClosed(); });
    const send = (event: string, data: string, id?: string) => {
      if (gone) return;
      // SSE data cannot hold a bare newline; each line of `data` becomes its own data: field.
      chain = chain.then(() => stream.writeSSE({ event, data, ...(id ? { id } : {}) })).catch(() => { gone = true; markClosed(); });
    };
    const ping = setInterval(() => {
      if (!gone) chain = chain.then(() => stream.write(': ping\n\n')).then(() => undefined).catch(() => { gone = true; markClosed(); });
    }, 15_000);
    const unguard = guardStream(stillValid, () => { gone = true; markClosed(); });
    try {
      await run(send, closed);
      await chain;
    } finally {
      clearInterval(ping);
      unguard();
    }
  });
}
