/**
 * What the dashboard reads from other modules, as narrow structural interfaces: the log store and
 * the metrics (src/logs, src/metrics, src/alerts) plug in here from main.ts. Without a log store
 * (a test server built without one) the logs page falls back to Docker's own recent output.
 */
import type { DeployOutput } from '../src/deploy/output.js';
import type { DeployQueue, DeployResult } from '../src/deploy/queue.js';

export interface RuntimeLogLine {
  seq: number;
  ts: string;
  stream: string;
  process: string;
  line: string;
  app: string;
}

/** The app-log ring buffer (src/logs LogStore fits this shape). */
export interface RuntimeLogSource {
  tail(app: string, lines: number): Promise<RuntimeLogLine[]>;
  after(app: string, seq: number, limit: number): Promise<RuntimeLogLine[]>;
  subscribe(listener: (lines: RuntimeLogLine[]) => void): () => void;
}

export interface Series {
  /** Unix seconds of each point, oldest first. */
  t: number[];
  cpuPct: number[];
  memoryBytes: number[];
}

export interface HostMetrics {
  cpuPct: number | null;
  memoryUsed: number;
  memoryTotal: number;
  diskUsed: number;
  diskTotal: number;
  uptimeSec: number;
  load?: [number, number, number];
  /** The last hour, when sampled. */
  series?: { t: number[]; cpuPct: number[]; memoryPct: number[] };
}

export interface AlertView {
  kind: string;
  app: string | null;
  message: string;
  startedAt: string;
  resolvedAt: string | null;
}

export interface MetricsSource {
  /** CPU % and memory of each app over the last `seconds`, for sparklines. */
  appSeries(apps: string[], seconds: number): Promise<Map<string, Series>>;
  /** The last hour of each app reduced to about `points` averaged points (the apps list). */
  appSparklines(apps: string[], points: number): Promise<Map<string, Series>>;
  host(): Promise<HostMetrics>;
  /** Open alerts first, then recently resolved ones. */
  alerts(limit: number): Promise<AlertView[]>;
  /** Bytes Docker's images, containers, volumes and build cache take; null when Docker does not say. */
  dockerBytes(): Promise<number | null>;
}

/** The running deploy's output, and word of its end. */
export interface LiveDeploys {
  output(deployId: number): DeployOutput | undefined;
  onFinished(listener: (deployId: number, result: DeployResult) => void): () => void;
}

export function liveDeploys(queue: DeployQueue): LiveDeploys {
  return {
    output: (id) => queue.outputOf(id),
    onFinished(listener) {
      queue.on('finished', listener);
      return () => queue.off('finished', listener);
    },
  };
}
