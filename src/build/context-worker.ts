/**
 * Worker thread entry: checks a spooled source archive and writes the build context
 * (context-check.ts), off hiy's event loop. The parent gives it a hard time and memory limit
 * and terminates it when either is exceeded, so nothing a pushed repo holds can stall the API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isHiyError } from '../errors.js';
import { checkAndRepack } from './context-check.js';
import type { DetectOptions } from './detect.js';

export interface ContextJob {
  source: string;
  out: string;
  maxEntries: number;
  detect: DetectOptions;
}

export type ContextAnswer =
  | { ok: true; entries: number; ignored: number; plan: Awaited<ReturnType<typeof checkAndRepack>>['plan'] }
  | { ok: false; code: string; message: string };

const job = workerData as ContextJob;
checkAndRepack(job.source, job.out, job.maxEntries, job.detect).then(
  (r) => parentPort?.postMessage({ ok: true, ...r } satisfies ContextAnswer),
  (err: unknown) => parentPort?.postMessage(isHiyError(err)
    ? { ok: false, code: err.code, message: err.message } satisfies ContextAnswer
    : { ok: false, code: 'internal', message: (err as Error)?.message ?? String(err) } satisfies ContextAnswer),
);
