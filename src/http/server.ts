import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HostPort } from '../config.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * How long a request may take to arrive. Bodies of the API, the dashboard and webhooks are small
 * (8 MB at most; GitHub gives up on a delivery after 10 s): they arrive within BODY_DEADLINE_MS
 * and never stall for BODY_IDLE_MS. A git push's pack and the hook's source archive may take long
 * on a slow uplink, so they have no total deadline, but they may not stall for STREAM_IDLE_MS.
 * A body left unread after the answer was sent (a 401 to a push, a 403) gets DRAIN_MS, so the
 * client can read the answer, then the connection closes. Without these, a client trickling a
 * byte a second held a connection (and its memory) forever: Node's requestTimeout is off because
 * it cannot tell a stalled body from a long push.
 */
export const REQUEST_LIMITS = { headersMs: 20_000, bodyDeadlineMs: 20_000, bodyIdleMs: 10_000, streamIdleMs: 60_000, drainMs: 2_000, checkEveryMs: 1_000 };

/**
 * One listener for the control plane: git smart-HTTP (raw node streams) under /git/ and the
 * internal deploy endpoint are plain node handlers; everything else is the hono app. Routes of
 * the hono app whose bodies are long streams (an image upload) are named in `streamingPaths`: they
 * get the stream limits instead of the small-body deadline.
 */
export interface RawRoute {
  prefix: string;
  handler: RawHandler;
  /** Long uploads (git pushes): no total deadline, only the idle limit of streams. */
  streams?: boolean;
  /** A shorter total deadline for this prefix's bodies (webhooks: GitHub gives up after 10 s). */
  bodyDeadlineMs?: number;
  bodyIdleMs?: number;
}

export function createHttpServer(app: Hono<any>, raw: RawRoute[], streamingPaths: RegExp[] = []): Server {
  const honoListener = getRequestListener(app.fetch);
  const server = createServer({ connectionsCheckingInterval: 2_000 }, (req, res) => {
    const url = req.url ?? '/';
    for (const r of raw) {
      if (url.startsWith(r.prefix)) {
        guardBody(req, res, r.streams === true, r);
        return r.handler(req, res);
      }
    }
    guardBody(req, res, streamingPaths.some((re) => re.test(url)));
    void honoListener(req, res);
  });
  // Answers stream for minutes through the internal endpoint (a build's output); requestTimeout
  // would only bound receiving the request, which guardBody does per kind of request instead.
  server.requestTimeout = 0;
  server.headersTimeout = REQUEST_LIMITS.headersMs;
  server.keepAliveTimeout = 5_000;
  return server;
}

/** Cuts the connection of a request whose body stalls, takes too long, or is still trickling in after the answer. */
function guardBody(req: IncomingMessage, res: ServerResponse, streams: boolean, own: { bodyDeadlineMs?: number; bodyIdleMs?: number } = {}): void {
  if (req.complete) return;
  const L = { ...REQUEST_LIMITS, ...own };
  const started = Date.now();
  let lastBytes = req.socket.bytesRead;
  let lastProgress = started;
  let answeredAt: number | undefined;
  res.once('finish', () => { answeredAt = Date.now(); });
  // Polling bytesRead leaves the body stream alone: a 'data' listener would start the flow
  // before the handler reads it, and socket timeouts would also fire on a quiet answer stream.
  const timer = setInterval(() => {
    if (req.complete || req.socket.destroyed) return clearInterval(timer);
    const now = Date.now();
    if (req.socket.bytesRead !== lastBytes) {
      lastBytes = req.socket.bytesRead;
      lastProgress = now;
    }
    const late = (!streams && now - started > L.bodyDeadlineMs)
      || now - lastProgress > (streams ? L.streamIdleMs : L.bodyIdleMs)
      || (answeredAt !== undefined && now - answeredAt > L.drainMs);
    if (late) {
      clearInterval(timer);
      req.socket.destroy();
    }
  }, L.checkEveryMs);
  timer.unref();
  req.once('close', () => clearInterval(timer));
}

export function listen(server: Server, at: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? { host: at.host, port: addr.port } : at);
    });
  });
}
