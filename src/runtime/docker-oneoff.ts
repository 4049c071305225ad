import { Writable } from 'node:stream';
import { HiyError } from '../errors.js';
import { containerCreateOptions } from './container-config.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { hiyLabels, LABEL_APP, LABEL_MANAGED } from './labels.js';
import type { ContainerSpec, OneOffResult, Runtime } from './runtime.js';

type OneOff = Pick<Runtime, 'runOnce' | 'ensureVolume' | 'removeVolume' | 'listVolumes' | 'volumeLocation' | 'imageUser'>;

/** Splits a byte stream into lines (the last partial line is passed on at end()). */
export function lineSink(onLine: (line: string) => void): Writable & { flushRest(): void } {
  let rest = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p.replace(/\r$/, ''));
      // A process printing without newlines must not grow this without bound.
      if (rest.length > 64 * 1024) { onLine(rest); rest = ''; }
      cb();
    },
  });
  return Object.assign(sink, { flushRest() { if (rest) onLine(rest); rest = ''; } });
}

/**
 * Runs a created container to its end: output lines to onLine (attached before the start, so not
 * a line is missed), killed at the timeout or on abort, removed afterwards (its volumes kept).
 */
export async function runToEnd(docker: Docker, container: Docker.Container, opts: { timeoutSec: number; onLine(line: string): void; signal?: AbortSignal; what: string; startError?: 'deploy_failed' | 'internal' }): Promise<OneOffResult> {
  let timedOut = false;
  const kill = () => { void container.kill().catch(() => undefined); };
  // 0: no time limit (a detached run or cron job configured without one).
  const timer = opts.timeoutSec > 0 ? setTimeout(() => { timedOut = true; kill(); }, opts.timeoutSec * 1000) : undefined;
  opts.signal?.addEventListener('abort', kill, { once: true });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true }) as NodeJS.ReadableStream;
    const out = lineSink(opts.onLine);
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    docker.modem.demuxStream(stream, out, out);
    try {
      await container.start();
    } catch (err) {
      throw engineError(err, `starting ${opts.what}`, opts.startError ?? 'deploy_failed');
    }
    const res = await container.wait() as { StatusCode?: number };
    // The output may trail the exit by a moment; do not wait forever for it.
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    out.flushRest();
    return { exitCode: typeof res.StatusCode === 'number' ? res.StatusCode : -1, timedOut };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', kill);
    await container.remove({ force: true, v: false }).catch(() => undefined);
  }
}

/** One-off containers (release commands, volume preparation) and named volumes. */
export function dockerOneOff(docker: Docker, ensureNetwork: (app: string) => Promise<string>, extraLabels?: Record<string, string>): OneOff {
  async function runOnce(spec: ContainerSpec, opts: { timeoutSec: number; onLine(line: string): void; signal?: AbortSignal }): Promise<OneOffResult> {
    const options = containerCreateOptions({ ...spec, oneOff: true, hostPort: undefined }, extraLabels);
    await ensureNetwork(spec.app);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 404) throw new HiyError('deploy_failed', `image ${spec.image} not found on this engine`, { cause: err });
      throw engineError(err, `creating container ${spec.name}`, 'deploy_failed');
    }
    return runToEnd(docker, container, { ...opts, what: `container ${spec.name}` });
  }

  return {
    runOnce,

    async ensureVolume(name, app) {
      try {
        await docker.getVolume(name).inspect();
        return;
      } catch (err) {
        if (statusOf(err) !== 404) throw engineError(err, `inspecting volume ${name}`);
      }
      await docker.createVolume({ Name: name, Driver: 'local', Labels: hiyLabels(app, extraLabels) })
        .catch((err: unknown) => { throw engineError(err, `creating volume ${name}`, 'deploy_failed'); });
    },

    async removeVolume(name) {
      await docker.getVolume(name).remove().catch((err: unknown) => {
        if (statusOf(err) === 404) return;
        throw engineError(err, `removing volume ${name}`, statusOf(err) === 409 ? 'conflict' : 'internal');
      });
    },

    async listVolumes(filter = {}) {
      const res = await docker.listVolumes({ filters: { label: [`${LABEL_MANAGED}=1`, ...(filter.app ? [`${LABEL_APP}=${filter.app}`] : [])] } })
        .catch((err: unknown) => { throw engineError(err, 'listing volumes'); });
      return (res.Volumes ?? []).map((v) => ({ name: v.Name }));
    },

    async volumeLocation(name) {
      try {
        const v = await docker.getVolume(name).inspect() as { Mountpoint: string; Driver: string };
        return { driver: v.Driver, mountpoint: v.Mountpoint };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw engineError(err, `inspecting volume ${name}`);
      }
    },

    async imageUser(ref) {
      try {
        const info = await docker.getImage(ref).inspect();
        return info.Config?.User ?? '';
      } catch (err) {
        if (statusOf(err) === 404) throw new HiyError('deploy_failed', `image ${ref} not found on this engine`, { cause: err });
        throw engineError(err, `inspecting image ${ref}`);
      }
    },
  };
}
