/**
 * WebSocket upgrades on the control plane's listener (the run channel of `hiy run` and the
 * dashboard console). An upgrade request goes through the same hono app as every other request,
 * so the API's token check and the dashboard's session check apply to it unchanged; a route that
 * wants the connection calls `webSocketOf(c)` and answers 2xx. Anything else it answers (401, 404,
 * a JSON error) is written back as a plain HTTP answer and the connection closes.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'hono';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.js';

/** Largest message a client may send (a paste into a terminal, a resize): bigger ones close the connection. */
export const MAX_MESSAGE_BYTES = 1 << 20;

type Accept = (onOpen: (ws: WebSocket) => void) => void;

interface UpgradeEnv {
  incoming: IncomingMessage;
  webSocket?: { accept: Accept };
}

/** Inside a route: takes the connection over once the route answers 2xx; undefined for a request that is no upgrade. */
export function webSocketOf(c: Context): Accept | undefined {
  return (c.env as Partial<UpgradeEnv> | undefined)?.webSocket?.accept;
}

export interface Upgrades {
  /** Closes every open WebSocket (shutdown). */
  close(): void;
}

function toRequest(req: IncomingMessage): Request {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers });
}

async function answer(socket: Duplex, res: Response): Promise<void> {
  const body = Buffer.from(await res.text().catch(() => ''));
  const head = [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}`];
  res.headers.forEach((v, k) => { if (!['content-length', 'connection', 'transfer-encoding', 'content-encoding'].includes(k)) head.push(`${k}: ${v}`); });
  head.push(`content-length: ${body.length}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(head.join('\r\n')), body]));
}

/** Handles the server's upgrade requests with `app` (the same hono app that answers its requests). */
export function acceptUpgrades(server: Server, app: { fetch(req: Request, env: unknown): Response | Promise<Response> }, log: Logger): Upgrades {
  // ws is loaded with the first channel, not by an idle hiy (decision 13).
  let wss: Promise<WebSocketServer> | undefined;
  let made: WebSocketServer | undefined;
  const wsServer = () => (wss ??= import('ws').then((m) => (made = new m.WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false }))));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        return answer(socket, new Response('only WebSocket upgrades are answered here\n', { status: 400 }));
      }
      let onOpen: ((ws: WebSocket) => void) | undefined;
      const env: UpgradeEnv = { incoming: req, webSocket: { accept: (fn) => { onOpen = fn; } } };
      let res: Response;
      try {
        res = await app.fetch(toRequest(req), env);
      } catch (err) {
        log.error({ err, path: req.url }, 'upgrade request failed');
        return answer(socket, new Response('internal error\n', { status: 500 }));
      }
      if (!onOpen || res.status >= 300) return answer(socket, res);
      const open = onOpen;
      (await wsServer()).handleUpgrade(req, socket, head, (ws) => open(ws));
    })().catch(() => socket.destroy());
  });
  return {
    close() {
      if (!made) return;
      for (const ws of made.clients) ws.terminate();
      made.close();
    },
  };
}
