import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HostPort } from './config.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * One listener for the control plane: git smart-HTTP (raw node streams) under /git/ and the
 * internal deploy endpoint are plain node handlers; everything else is the hono app.
 */
export function createHttpServer(app: Hono<any>, raw: { prefix: string; handler: RawHandler }[]): Server {
  const honoListener = getRequestListener(app.fetch);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    for (const r of raw) {
      if (url.startsWith(r.prefix)) return r.handler(req, res);
    }
    void honoListener(req, res);
  });
  // Builds stream for minutes through the internal endpoint; never time those out.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
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
