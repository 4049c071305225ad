/**
 * The one place that loads dockerode (≈27 MB of RSS): main.ts reaches it only through dynamic
 * imports of docker-runtime.ts / docker-builder.ts, so a control plane that never deploys never
 * pays for it.
 */
import Docker from 'dockerode';
import { HiyError } from '../errors.js';

export type { Docker };

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * Engine address as DOCKER_HOST spells it: `unix:///path`, a bare socket path, `tcp://host:port`
 * or `http://host:port`. TLS (`https://`, DOCKER_TLS_VERIFY) is not supported: hiy talks to a
 * local engine.
 */
export function dockerOptions(host: string = DEFAULT_DOCKER_SOCKET): Docker.DockerOptions {
  // Always explicit options: given none, dockerode reads DOCKER_HOST itself, and only src/config.ts may read the environment.
  if (host.startsWith('/')) return { socketPath: host };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const m = /^(tcp|http):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
  if (!m?.[2] || !m[3]) throw new HiyError('config', `unsupported Docker engine address: ${host} (use unix:///path or tcp://host:port)`);
  return { protocol: 'http', host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

export function connectDocker(host?: string): Docker {
  return new Docker(dockerOptions(host));
}

/** HTTP status of a docker-modem error (undefined for connection errors). */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The engine's own message (docker-modem prefixes "(HTTP code 409) unexpected - "). */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: unknown } | null)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

/** Connection failures become 'unavailable' with a hint; everything else keeps the engine's words. */
export function engineError(err: unknown, what: string, code: 'deploy_failed' | 'internal' | 'conflict' | 'not_found' = 'internal'): HiyError {
  if (statusOf(err) === undefined) {
    const sysCode = (err as { code?: unknown } | null)?.code;
    if (sysCode === 'ENOENT' || sysCode === 'ECONNREFUSED' || sysCode === 'EACCES') {
      return new HiyError('unavailable', `${what}: the Docker engine does not answer (${String(sysCode)}); is dockerd running and is its socket readable?`, { cause: err });
    }
  }
  return new HiyError(code, `${what}: ${engineMessage(err)}`, { cause: err });
}
