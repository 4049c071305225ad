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
import { followOptions, parsedLines } from './docker-streams.js';
import type { EngineStream, LogLine, Runtime } from './runtime.js';

export async function followServiceLogs(docker: Docker, id: string, opts: { since?: string; tail?: number }, onLine: (line: LogLine) => void): Promise<EngineStream> {
  let stream: Readable;
  try {
    stream = (await docker.getService(id).logs(followOptions(opts))) as unknown as Readable;
  } catch (err) {
    if (statusOf(err) === 404) throw new HiyError('not_found', `service ${id} not found`, { cause: err });
    throw engineError(err, `following logs of ${id}`);
  }
  return parsedLines(stream, false, onLine);
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
