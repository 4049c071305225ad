/**
 * Output of services, whichever node runs their tasks: the manager collects it (GET
 * /services/{id}/logs), so hiy reads every node's logs from the one engine it talks to. Lines
 * of all the service's tasks, a restarted one included, come in one stream.
 */
import type { Readable } from 'node:stream';
import { HiyError } from '../errors.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { demuxToText } from './demux.js';
import { asBuffer } from './docker-runtime.js';
import { track } from './docker-streams.js';
import { LogStreamParser, timestampToSince } from './log-lines.js';
import type { EngineStream, LogLine, Runtime } from './runtime.js';

export async function followServiceLogs(docker: Docker, id: string, opts: { since?: string; tail?: number }, onLine: (line: LogLine) => void): Promise<EngineStream> {
  let stream: Readable;
  try {
    const since = opts.since ? timestampToSince(opts.since) : undefined;
    const options = { follow: true, stdout: true, stderr: true, timestamps: true, ...(since ? { since } : {}), ...(opts.tail !== undefined ? { tail: opts.tail } : {}) };
    stream = (await docker.getService(id).logs(options as unknown as Docker.ContainerLogsOptions & { follow: true })) as unknown as Readable;
  } catch (err) {
    if (statusOf(err) === 404) throw new HiyError('not_found', `service ${id} not found`, { cause: err });
    throw engineError(err, `following logs of ${id}`);
  }
  const parser = new LogStreamParser(false, onLine);
  stream.on('data', (c: Buffer) => parser.push(c));
  let ended = false;
  const end = () => { if (!ended) { ended = true; parser.end(); } };
  for (const e of ['end', 'close', 'error']) stream.once(e, end);
  return track(stream);
}

export function swarmLogs(docker: Docker): Pick<Runtime, 'logs' | 'followLogs'> {
  return {
    async logs(id, opts = {}) {
      try {
        const data: unknown = await docker.getService(id).logs({ stdout: true, stderr: true, follow: false, tail: opts.tail ?? 200 } as unknown as Docker.ContainerLogsOptions & { follow: false });
        return demuxToText(asBuffer(data));
      } catch (err) {
        if (statusOf(err) === 404) throw new HiyError('not_found', `service ${id} not found`, { cause: err });
        throw engineError(err, `reading logs of ${id}`);
      }
    },
    followLogs: (id, opts, onLine) => followServiceLogs(docker, id, opts, onLine),
  };
}
