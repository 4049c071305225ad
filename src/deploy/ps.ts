/** `hiy ps`: the containers of an app as processes of its releases, and its formation. */
import type { App } from '../apps/repo.js';
import type { ProcessListing, ProcessView } from '../contract.js';
import { HiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Services } from '../services.js';
import { formationOf, parseProcesses } from './formation.js';
import { currentRelease, listReleases } from './releases.js';

/** Every container of the app but one-offs (the release command, runs: `hiy runs`), by type and replica, with its release. */
export async function listProcesses(s: Pick<Services, 'db' | 'runtime'>, app: App): Promise<ProcessListing> {
  const release = await currentRelease(s.db, app.name);
  const processes = parseProcesses(release?.processes);
  const versions = new Map((await listReleases(s.db, app.name)).map((rel) => [rel.deploy_id, rel.version]));
  const runtime = await s.runtime().catch((cause: unknown): Runtime => { throw new HiyError('unavailable', 'Docker is not reachable', { cause }); });
  const list: ProcessView[] = (await runtime.list({ app: app.name }))
    .filter((x) => x.process !== 'release' && x.run === null)
    .map((x) => ({
      type: x.process,
      replica: x.replica,
      container: x.name,
      state: x.state,
      running: x.running,
      release: (x.deployId === null ? undefined : versions.get(x.deployId)) ?? null,
      port: x.hostPort,
      started_at: x.startedAt,
      restart_count: x.restartCount,
    }))
    .sort((a, b) => a.type.localeCompare(b.type) || a.replica - b.replica);
  return {
    app: app.name,
    release: release?.version ?? null,
    process_types: { web: processes.web ?? null, ...Object.fromEntries(Object.entries(processes).filter(([k]) => k !== 'web')) },
    formation: await formationOf(s.db, app.name, processes),
    processes: list,
  };
}
