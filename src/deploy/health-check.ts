import { request } from 'node:http';
import { HiyError } from '../errors.js';

/** One GET; resolves with the status, or undefined when nothing answered. */
export function probe(port: number, path: string, timeoutMs = 2000, host = '127.0.0.1'): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', headers: { 'user-agent': 'hiy-health-check', connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export interface HealthWait {
  port: number;
  /** Where the port answers (a Swarm node's address); default 127.0.0.1. */
  host?: string;
  path: string;
  timeoutSec: number;
  /** Fails fast when the container died instead of waiting for the timeout. */
  stillRunning(): Promise<boolean>;
  signal?: AbortSignal;
}

/** Waits until the release answers HTTP with any status below 500. */
export async function waitHealthy(w: HealthWait): Promise<number> {
  const deadline = Date.now() + w.timeoutSec * 1000;
  let checks = 0;
  for (;;) {
    const status = await probe(w.port, w.path, 2000, w.host);
    if (status !== undefined && status < 500) return status;
    if (++checks % 8 === 0 && !(await w.stillRunning())) {
      throw new HiyError('deploy_failed', 'the new release exited before it answered HTTP');
    }
    if (Date.now() > deadline) {
      throw new HiyError('deploy_failed', `the new release did not answer HTTP on ${w.path} within ${w.timeoutSec} s${status ? ` (last status ${status})` : ''}`);
    }
    if (w.signal?.aborted) throw new HiyError('deploy_failed', 'deploy aborted');
    await new Promise((r) => setTimeout(r, 100));
  }
}
