/**
 * A one-off (the release command, volume preparation) as a service whose one task runs once
 * (restart condition none) on whichever node Swarm picks, or hiy's own when it has a volume: its
 * output followed through the manager, its exit code read from the task, removed afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Docker } from './docker-client.js';
import { followServiceLogs } from './swarm-logs.js';
import type { SwarmServices } from './swarm-services.js';
import { currentTask, taskEnded } from './swarm-tasks.js';
import type { OneOffResult } from './runtime.js';

const POLL_MS = 200;

export async function runServiceOnce(
  docker: Docker, services: SwarmServices, log: Logger, spec: Docker.CreateServiceOptions,
  opts: { timeoutSec: number; onLine(line: string): void; signal?: AbortSignal },
): Promise<OneOffResult> {
  let timedOut = false;
  let aborted = false;
  const info = await services.create(spec);
  const deadline = opts.timeoutSec > 0 ? Date.now() + opts.timeoutSec * 1000 : Infinity;
  const stream = await followServiceLogs(docker, info.id, {}, (l) => opts.onLine(l.text)).catch((err: unknown) => {
    log.warn({ err, service: info.name }, 'could not follow a one-off\'s output');
    return undefined;
  });
  try {
    for (;;) {
      const task = currentTask(await services.tasksOf(info.id));
      if (task && taskEnded(task)) {
        // The manager relays output a moment after the task ended.
        await Promise.race([stream?.done, sleep(1500)]);
        return { exitCode: task.Status.ContainerStatus?.ExitCode ?? (task.Status.State === 'complete' ? 0 : -1), timedOut };
      }
      if (opts.signal?.aborted) aborted = true;
      if (Date.now() > deadline) timedOut = true;
      if (timedOut || aborted) {
        await services.remove(info.id);
        return { exitCode: 137, timedOut };
      }
      await sleep(POLL_MS);
    }
  } finally {
    stream?.stop();
    await services.remove(info.id).catch((err: unknown) => log.warn({ err, service: info.name }, 'removing a one-off service failed'));
  }
}
