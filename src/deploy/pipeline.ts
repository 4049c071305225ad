import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { appRouteOf, getApp, setProxyHealthPath, slotPorts, type App } from '../apps/repo.js';
import { appUrl } from '../apps/urls.js';
import type { Builder } from '../build/builder.js';
import { createRedactor } from '../build/redact.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { readEnv } from '../env/repo.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Proxy } from '../proxy/proxy.js';
import { LABEL_DEPLOY, LABEL_PROCESS, LABEL_SLOT, type ContainerInfo, type Runtime } from '../runtime/runtime.js';
import { waitHealthy } from './health-check.js';
import type { DeployOutput } from './output.js';
import { currentRelease, imagesToKeep, recordRelease, type Release } from './releases.js';
import type { DeployTrigger } from './table.js';

export interface PipelineDeps {
  db: Kysely<Database>;
  config: Config;
  log: Logger;
  secrets: SecretBox;
  runtime: Runtime;
  builder: Builder;
  proxy: Proxy;
}

export interface DeployJob {
  deployId: number;
  app: string;
  sha: string;
  trigger: DeployTrigger;
  /** Source tar for builds; absent when an existing image is released again (restart, rollback). */
  source?: () => Readable;
  image?: string;
  output: DeployOutput;
  signal?: AbortSignal;
}

type Slot = 'a' | 'b';

/**
 * The story of one deploy: build → start → wait healthy → record → switch and drain → prune.
 * Anything that fails before `record` leaves the running release untouched and serving.
 */
export async function deploy(d: PipelineDeps, job: DeployJob): Promise<Release> {
  const app = await getApp(d.db, job.app);
  const env = await readEnv(d.db, d.secrets, app.name);
  job.output.setRedactor(createRedactor(Object.values(env)));
  const previous = await currentRelease(d.db, app.name);
  const oldContainers = await d.runtime.list({ app: app.name });

  const image = job.image ?? (await build(d, app, job));
  const slot: Slot = previous?.slot === 'a' ? 'b' : 'a';
  job.output.step(`Starting ${job.image ? 'release' : 'new release'} on slot ${slot}`);
  const container = await startContainer(d, app, image, slot, env, job.deployId, oldContainers);
  const status = await waitUntilHealthy(d, app, job, container, slot);
  await matchProxyHealthCheck(d, app, status);
  const release = await recordRelease(d.db, { app: app.name, deploy_id: job.deployId, sha: job.sha, image, slot });
  job.output.step(`Released v${release.version}`);
  await switchAndDrain(d, app, job, oldContainers.filter((c) => c.id !== container.id));
  await prune(d, app, job);
  job.output.step(`Live at ${appUrl(d.config, app.name)}`);
  return release;
}

async function build(d: PipelineDeps, app: App, job: DeployJob): Promise<string> {
  if (!job.source) throw new HiyError('internal', 'a build needs a source archive');
  job.output.step(`Building ${app.name} (${job.sha.slice(0, 7)})`);
  const { image } = await d.builder.build({
    app: app.name,
    deployId: job.deployId,
    sha: job.sha,
    source: job.source(),
    memoryMb: d.config.buildMemoryMb,
    timeoutSec: d.config.buildTimeoutSec,
    onOutput: (line) => job.output.detail(line),
    ...(job.signal ? { signal: job.signal } : {}),
  });
  return image;
}

/** Runs a release's web container on one of the app's two fixed slot ports. */
export async function startContainer(
  d: Pick<PipelineDeps, 'config' | 'runtime'>, app: App, image: string, slot: Slot, env: Record<string, string>, deployId: number, existing: ContainerInfo[],
): Promise<ContainerInfo> {
  const [portA, portB] = slotPorts(app, d.config.slotPortBase);
  const hostPort = slot === 'a' ? portA : portB;
  // A container left on this slot (a crash between start and switch) would hold the port.
  for (const c of existing.filter((c) => c.labels[LABEL_SLOT] === slot)) await d.runtime.remove(c.id);
  await d.runtime.ensureNetwork(app.name);
  return d.runtime.run({
    name: `hiy-${app.name}-${randomBytes(4).toString('hex')}`,
    image,
    app: app.name,
    env: { ...env, PORT: String(app.port) },
    containerPort: app.port,
    hostPort,
    memoryMb: app.memory_mb,
    cpus: app.cpus,
    labels: { [LABEL_DEPLOY]: String(deployId), [LABEL_SLOT]: slot, [LABEL_PROCESS]: 'web' },
  });
}

async function waitUntilHealthy(d: PipelineDeps, app: App, job: DeployJob, container: ContainerInfo, slot: Slot): Promise<number> {
  const [portA, portB] = slotPorts(app, d.config.slotPortBase);
  job.output.step(`Waiting for the release to answer on ${app.health_path} (up to ${app.health_timeout_s} s)`);
  try {
    const status = await waitHealthy({
      port: slot === 'a' ? portA : portB,
      path: app.health_path,
      timeoutSec: app.health_timeout_s,
      // The restart policy brings a crashing app back again and again: a restart already means it crashed.
      stillRunning: async () => {
        const info = await d.runtime.inspect(container.id);
        return !!info && info.running && info.state === 'running' && info.restartCount === 0;
      },
      ...(job.signal ? { signal: job.signal } : {}),
    });
    job.output.detail(`answered ${status}`);
    return status;
  } catch (err) {
    const tail = await d.runtime.logs(container.id, { tail: 30 }).catch(() => '');
    if (tail.trim()) {
      job.output.step('Output of the new release:');
      for (const l of tail.trimEnd().split('\n')) job.output.detail(l);
    }
    await d.runtime.remove(container.id);
    throw err;
  }
}

/**
 * Caddy checks the app's health path itself when the app answers it with 2xx/3xx, so a release
 * never gets traffic before it is ready; Caddy 2.6 would never route to an app that answers 4xx
 * there, so such apps get passive checks. A change reloads Caddy (rare: first deploy, new path).
 */
async function matchProxyHealthCheck(d: PipelineDeps, app: App, status: number): Promise<void> {
  const wanted = status >= 200 && status < 400 ? app.health_path : null;
  if (wanted === app.proxy_health_path) return;
  const updated = await setProxyHealthPath(d.db, app.name, wanted);
  await d.proxy.setRoute(appRouteOf(updated, d.config.slotPortBase));
}

/**
 * Caddy's route lists both slots and never changes, so the switch is the old release leaving:
 * SIGTERM lets it finish in-flight requests for up to drain_s while Caddy retries new ones on the
 * new slot.
 */
async function switchAndDrain(d: PipelineDeps, app: App, job: DeployJob, old: ContainerInfo[]): Promise<void> {
  if (old.length === 0) return;
  job.output.step(`Switching traffic; draining the old release (up to ${app.drain_s} s)`);
  await Promise.all(old.map(async (c) => {
    await d.runtime.stop(c.id, app.drain_s);
    await d.runtime.remove(c.id);
  }));
}

async function prune(d: PipelineDeps, app: App, job: DeployJob): Promise<void> {
  try {
    const keep = await imagesToKeep(d.db, app.name, d.config.keepReleases);
    let removed = 0;
    for (const img of await d.runtime.listImages({ app: app.name })) {
      if (img.tags.some((t) => keep.has(t))) continue;
      for (const t of img.tags.length ? img.tags : [img.id]) await d.runtime.removeImage(t);
      removed++;
    }
    await d.runtime.pruneBuildLeftovers();
    if (removed) job.output.detail(`removed ${removed} old image(s)`);
  } catch (err) {
    // Pruning is housekeeping: the release is live whatever happens here.
    d.log.warn({ err, app: app.name }, 'pruning old images failed');
  }
}
