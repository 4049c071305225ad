/**
 * Shared by the proxy tests and the zero-downtime bench: node http servers that play an app's
 * release on a slot port, deploys between them through hiy's own switch, and a load generator
 * (keep-alive + fresh-connection loops) that counts every failure a user would see meanwhile.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { switchTraffic } from '../src/deploy/drain.js';
import { waitHealthy } from '../src/deploy/health-check.js';
import type { Proxy } from '../src/proxy/proxy.js';
import type { ContainerInfo } from '../src/runtime/runtime.js';
import type { Slot } from '../src/slots.js';

export interface SlotServer {
  port: number;
  body: string;
  /** 'graceful': stop accepting, close idle keep-alive sockets, answer in-flight requests with
   *  `Connection: close` (what a well-behaved server does on SIGTERM); sockets still open after
   *  10 s are destroyed, as `docker stop` would SIGKILL.
   *  'abrupt': destroy every socket at once (a process that exits without draining). */
  close(mode: 'graceful' | 'abrupt'): Promise<void>;
}

/**
 * A release: answers every request with `body` and `status` (404 plays an app without a `/`).
 * `bodyDelayMs` sends the headers at once and the body that much later, so a close catches
 * requests half answered (what cutting a busy release off does).
 */
export function startSlotServer(port: number, body: string, status = 200, opts: { bodyDelayMs?: number } = {}): Promise<SlotServer> {
  const sockets = new Set<Socket>();
  let closing = false;
  const server: Server = createServer((req, res) => {
    req.resume();
    // A keep-alive client (Caddy's upstream pool) would otherwise keep using this server forever.
    if (closing) res.setHeader('Connection', 'close');
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    if (!opts.bodyDelayMs) {
      res.end(body);
      return;
    }
    res.flushHeaders();
    setTimeout(() => res.end(body), opts.bodyDelayMs);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({
        port,
        body,
        close(mode) {
          closing = true;
          return new Promise<void>((done) => {
            const killer = setTimeout(() => { for (const s of sockets) s.destroy(); }, mode === 'abrupt' ? 0 : 10_000);
            server.close(() => { clearTimeout(killer); done(); });
            if (mode === 'graceful') server.closeIdleConnections();
          });
        },
      });
    });
  });
}

export interface HttpAnswer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** One GET to 127.0.0.1:<port> with a Host header (no DNS involved). */
export function get(port: number, host: string, opts: { agent?: Agent | false; path?: string; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: opts.path ?? '/',
      headers: { Host: host, ...(opts.agent === false ? { Connection: 'close' } : {}) },
      agent: opts.agent ?? false,
      timeout: opts.timeoutMs ?? 15_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until a GET on the port itself answers (what hiy's health gate does before a switch). */
export async function waitUntilAnswers(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await get(port, `127.0.0.1:${port}`, { timeoutMs: 1_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export interface LoadStats {
  requests: number;
  ok: number;
  /** Answers with another status than the app's own. */
  badStatus: number;
  /** ECONNRESET, socket hang up, timeouts… */
  connErrors: number;
  errorSamples: string[];
  statusSamples: number[];
  longestMs: number;
  /** Requests that took 50 ms or more (one Caddy retry interval): how many paid a retry or a stall. */
  over50ms: number;
  /** Requests slower than 150 ms: when they started (performance.now()), how long, what came back. */
  slow: { at: number; ms: number; result: string }[];
  bodies: Map<string, number>;
}

export interface Load {
  stats: LoadStats;
  /** The body of the last successful answer, per loop (shows where traffic goes now). */
  lastBodies(): string[];
  stop(): Promise<LoadStats>;
}

/**
 * `keepAlive` loops share one keep-alive agent (one socket each, reused), `fresh` loops open a
 * new connection per request. Every loop sends GETs back to back until stop().
 */
export function startLoad(opts: { port: number; host: string; keepAlive: number; fresh: number; expectStatus?: number }): Load {
  const expect = opts.expectStatus ?? 200;
  const agent = new Agent({ keepAlive: true, maxSockets: opts.keepAlive, keepAliveMsecs: 1_000 });
  const stats: LoadStats = { requests: 0, ok: 0, badStatus: 0, connErrors: 0, errorSamples: [], statusSamples: [], longestMs: 0, over50ms: 0, slow: [], bodies: new Map() };
  const last: string[] = [];
  let running = true;

  async function loop(i: number, useAgent: Agent | false): Promise<void> {
    while (running) {
      const t0 = performance.now();
      stats.requests++;
      let result = 'ok';
      try {
        const res = await get(opts.port, opts.host, { agent: useAgent });
        result = `${res.status} ${res.body.slice(0, 20)}`;
        if (res.status === expect) {
          stats.ok++;
          last[i] = res.body;
          stats.bodies.set(res.body, (stats.bodies.get(res.body) ?? 0) + 1);
        } else {
          stats.badStatus++;
          if (stats.statusSamples.length < 20) stats.statusSamples.push(res.status);
        }
      } catch (err) {
        stats.connErrors++;
        const e = err as NodeJS.ErrnoException;
        result = `error ${e.code ?? e.message}`;
        if (stats.errorSamples.length < 20) stats.errorSamples.push(e.code ?? e.message);
      }
      const ms = performance.now() - t0;
      stats.longestMs = Math.max(stats.longestMs, ms);
      if (ms >= 50) stats.over50ms++;
      if (ms > 150 && stats.slow.length < 200) stats.slow.push({ at: t0, ms, result });
    }
  }

  const loops: Promise<void>[] = [];
  for (let i = 0; i < opts.keepAlive; i++) loops.push(loop(i, agent));
  for (let i = 0; i < opts.fresh; i++) loops.push(loop(opts.keepAlive + i, false));
  return {
    stats,
    lastBodies: () => [...last],
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}

export interface SwitchRun {
  /** The server now serving (the last release started). */
  current: SlotServer;
  switches: number;
}

/**
 * Deploys as hiy does them, with node servers in place of containers: start the next release on
 * the idle slot, then hiy's own health gate (waitHealthy) and switch (switchTraffic: the live
 * marker moves, the old release drains, then it is stopped). Stopping closes the old server,
 * gracefully and abruptly in turn. Without `proxy`: the design hiy replaced (bench), both slots
 * routed and the old release closed as soon as the new one answers.
 */
export async function switchReleases(opts: {
  proxy?: Pick<Proxy, 'setLive' | 'inFlight'>;
  app: string;
  first: SlotServer;
  slotPorts: [number, number];
  switches: number;
  pauseMs: number;
  /** Upper bound of each drain (the app's drain_s). */
  drainSec: number;
  status?: number;
  bodyDelayMs?: number;
  log?: (line: string) => void;
}): Promise<SwitchRun> {
  let current = opts.first;
  for (let i = 0; i < opts.switches; i++) {
    const slot: Slot = current.port === opts.slotPorts[0] ? 'b' : 'a';
    const idle = opts.slotPorts[slot === 'a' ? 0 : 1];
    const next = await startSlotServer(idle, `v${i + 2}`, opts.status, { bodyDelayMs: opts.bodyDelayMs });
    await waitHealthy({ port: idle, path: '/', timeoutSec: 5, stillRunning: async () => true });
    const old = current;
    const mode = i % 2 === 0 ? 'graceful' : 'abrupt';
    // The old release as the one container the switch retires: stopping it closes the server.
    const runtime = { stop: () => old.close(mode), remove: async () => undefined };
    if (!opts.proxy) await old.close(mode);
    else await switchTraffic({ proxy: opts.proxy, runtime }, { name: opts.app, drain_s: opts.drainSec }, { slot, replicas: 1 }, [{ id: `${old.body}@${old.port}`, hostPort: old.port } as ContainerInfo]);
    opts.log?.(`${performance.now().toFixed(0)} switch ${i + 1}: ${old.body}@${old.port} -> ${next.body}@${idle} (${mode} close done)`);
    current = next;
    await new Promise((r) => setTimeout(r, opts.pauseMs));
  }
  return { current, switches: opts.switches };
}

/** A GET through a keep-alive agent; `reused` says whether it rode an existing connection. */
export function getReused(port: number, host: string, agent: Agent): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}
