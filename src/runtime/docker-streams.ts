import type { Readable } from 'node:stream';
import { HiyError } from '../errors.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { LABEL_MANAGED } from './labels.js';
import { LogStreamParser, timestampToSince } from './log-lines.js';
import type { ContainerEvent, EngineDiskUsage, EngineStream, LogLine, Runtime } from './runtime.js';

type Streams = Pick<Runtime, 'followLogs' | 'containerEvents' | 'diskUsage'>;

/** Settles once the stream ends, errors or closes; stop() destroys it. */
export function track(stream: Readable): EngineStream {
  const done = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return { done, stop: () => stream.destroy() };
}

/** Docker's event stream is JSON objects one per line, cut anywhere by chunking. */
export function jsonLines(onObject: (o: unknown) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (!line) continue;
      try { onObject(JSON.parse(line)); } catch { /* not JSON: skip */ }
    }
    if (rest.length > 1 << 20) rest = '';
  };
}

/** What a followed log stream is asked for (containers' and services' alike). */
export function followOptions(opts: { since?: string; tail?: number }): Docker.ContainerLogsOptions & { follow: true } {
  // dockerode's types want a number for since; the engine takes "seconds.nanoseconds".
  const since = opts.since ? timestampToSince(opts.since) : undefined;
  return { follow: true as const, stdout: true, stderr: true, timestamps: true, ...(since ? { since: since as unknown as number } : {}), ...(opts.tail !== undefined ? { tail: opts.tail } : {}) };
}

/** A followed log stream as lines to onLine. */
export function parsedLines(stream: Readable, tty: boolean, onLine: (line: LogLine) => void): EngineStream {
  const parser = new LogStreamParser(tty, onLine);
  stream.on('data', (c: Buffer) => parser.push(c));
  // Before `done` settles: whoever waits for it has every line, the unfinished last one too.
  let ended = false;
  const end = () => { if (!ended) { ended = true; parser.end(); } };
  for (const e of ['end', 'close', 'error']) stream.once(e, end);
  return track(stream);
}

/** The long-lived streams of the Docker adapter: followed logs, container events, disk usage. */
export function dockerStreams(docker: Docker): Streams {
  return {
    async followLogs(id, opts, onLine) {
      let tty: boolean;
      try {
        tty = (await docker.getContainer(id).inspect()).Config.Tty;
      } catch (err) {
        if (statusOf(err) === 404) throw new HiyError('not_found', `container ${id} not found`, { cause: err });
        throw engineError(err, `following logs of ${id}`);
      }
      let stream: Readable;
      try {
        stream = (await docker.getContainer(id).logs(followOptions(opts))) as unknown as Readable;
      } catch (err) {
        throw engineError(err, `following logs of ${id}`);
      }
      return parsedLines(stream, tty, onLine);
    },

    async containerEvents(onEvent) {
      let stream: Readable;
      try {
        stream = (await docker.getEvents({ filters: { type: ['container'], label: [`${LABEL_MANAGED}=1`] } })) as unknown as Readable;
      } catch (err) {
        throw engineError(err, 'watching container events');
      }
      stream.on('data', jsonLines((o) => {
        const e = o as { Action?: unknown; status?: unknown; id?: unknown; Actor?: { ID?: unknown; Attributes?: Record<string, unknown> } };
        const action = typeof e.Action === 'string' ? e.Action : typeof e.status === 'string' ? e.status : undefined;
        const id = typeof e.Actor?.ID === 'string' ? e.Actor.ID : typeof e.id === 'string' ? e.id : undefined;
        if (!action || !id) return;
        onEvent({ action, id } satisfies ContainerEvent);
      }));
      return track(stream);
    },

    async diskUsage(): Promise<EngineDiskUsage> {
      let df: {
        LayersSize?: number;
        Containers?: { SizeRw?: number }[];
        Volumes?: { UsageData?: { Size?: number } }[];
        BuildCache?: { Size?: number }[];
      };
      try {
        df = (await docker.df()) as typeof df;
      } catch (err) {
        throw engineError(err, 'reading the engine\'s disk usage');
      }
      const sum = (xs: number[]) => xs.reduce((a, b) => a + (b > 0 ? b : 0), 0);
      return {
        images: df.LayersSize ?? 0,
        containers: sum((df.Containers ?? []).map((c) => c.SizeRw ?? 0)),
        volumes: sum((df.Volumes ?? []).map((v) => v.UsageData?.Size ?? 0)),
        buildCache: sum((df.BuildCache ?? []).map((b) => b.Size ?? 0)),
      };
    },
  };
}
