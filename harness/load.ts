import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';

export interface LoadReport {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Longest time one request took, in ms, and when it started (epoch ms). */
  longestMs: number;
  longestStartedAt: number;
  /** Every request's time in ms, in the order they ended (for percentiles: percentile()). */
  durations: number[];
  /** When each request of `durations` started (epoch ms), same order: to split the load into windows. */
  starts: number[];
  /** Distinct bodies seen, with counts (shows the switch between releases). */
  bodies: Map<string, number>;
  errorSamples: string[];
  /** When the first and the last failed request (error or non-2xx) ended (epoch ms); 0 when none failed. */
  firstFailureAt: number;
  lastFailureAt: number;
}

/** The p-th percentile (0–100) of `durations`, nearest rank. */
export function percentile(durations: number[], p: number): number {
  if (durations.length === 0) return NaN;
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface LoadOptions {
  host: string;
  port: number;
  /** Where to connect (the Host header and SNI stay `host`). Default 127.0.0.1. */
  address?: string;
  path?: string;
  /** POST sends `body` (Caddy never retries a POST that reached a dying release). Default GET. */
  method?: 'GET' | 'POST';
  body?: string;
  caFile: string;
  keepAliveConnections: number;
  freshConnectionLoops: number;
}

/**
 * Request loops (GET unless told) against an app through Caddy (HTTPS, its local CA): `keepAliveConnections` loops each
 * reusing one connection, and `freshConnectionLoops` loops opening a new connection per request.
 * Loopback unless `address` says otherwise (tests/system: a booted guest's veth); runs until stop() is called.
 */
export function startLoad(o: LoadOptions): { stop(): Promise<LoadReport>; seen(body: string): boolean } {
  const ca = readFileSync(o.caFile);
  const report: LoadReport = { sent: 0, ok: 0, non2xx: 0, errors: 0, longestMs: 0, longestStartedAt: 0, durations: [], starts: [], bodies: new Map(), errorSamples: [], firstFailureAt: 0, lastFailureAt: 0 };
  const took = (t0: number) => {
    const ms = Date.now() - t0;
    report.durations.push(ms);
    report.starts.push(t0);
    if (ms > report.longestMs) {
      report.longestMs = ms;
      report.longestStartedAt = t0;
    }
  };
  const failedNow = () => {
    report.lastFailureAt = Date.now();
    report.firstFailureAt ||= report.lastFailureAt;
  };
  let running = true;

  const once = (agent: Agent | false) => new Promise<void>((resolve) => {
    const t0 = Date.now();
    report.sent++;
    const headers: Record<string, string | number> = { host: `${o.host}:${o.port}` };
    if (o.body !== undefined) Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(o.body) });
    const req = request({ host: o.address ?? '127.0.0.1', port: o.port, path: o.path ?? '/', method: o.method ?? 'GET', servername: o.host, headers, ca, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) report.ok++;
        else {
          report.non2xx++;
          failedNow();
          if (report.errorSamples.length < 10) report.errorSamples.push(`HTTP ${status}: ${body.slice(0, 100)}`);
        }
        report.bodies.set(body, (report.bodies.get(body) ?? 0) + 1);
        took(t0);
        resolve();
      });
      res.on('error', (err) => { fail(err); });
    });
    const fail = (err: Error) => {
      report.errors++;
      failedNow();
      if (report.errorSamples.length < 10) report.errorSamples.push(String((err as NodeJS.ErrnoException).code ?? err.message));
      took(t0);
      resolve();
    };
    req.setTimeout(30_000, () => req.destroy(new Error('timeout after 30 s')));
    req.on('error', fail);
    req.end(o.body);
  });

  const loops: Promise<void>[] = [];
  const agents: Agent[] = [];
  for (let i = 0; i < o.keepAliveConnections; i++) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    agents.push(agent);
    loops.push((async () => { while (running) await once(agent); })());
  }
  for (let i = 0; i < o.freshConnectionLoops; i++) loops.push((async () => { while (running) await once(false); })());

  return {
    /** Whether some answer so far had exactly this body (waiting for traffic to reach a release). */
    seen: (body) => report.bodies.has(body),
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const a of agents) a.destroy();
      return report;
    },
  };
}
