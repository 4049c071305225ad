import { rejectUnknownFields } from '../fields.js';
import { HiyError } from '../errors.js';
import { validateAppName } from './names.js';
import type { AppUpdate } from './repo.js';
import { repoUrlProblem } from '../git/repo-url.js';
import { parseAppBuildImages } from '../base-images.js';
import { validateImageTag, validateSource } from './source.js';
import { validateNodeLabels, validateSpread } from './placement.js';

// Everything a client may set on an app is checked here, before anything is written: these values
// end up in git command lines, Docker resource limits and Caddy health checks.

export const APP_SETTINGS = ['repo_url', 'branch', 'port', 'memory_mb', 'cpus', 'health_path', 'health_timeout_s', 'drain_s', 'dockerfile_path', 'build_images', 'source', 'image_tag', 'node_labels', 'spread'] as const;

const bad = (message: string): HiyError => new HiyError('invalid_input', message);

export const BRANCH_RULE = 'branch names are 1-100 characters of letters, digits and . _ / -, not starting with "-", "/" or ".", without "..", "//" or a component starting with ".", not ending with "/", "." or ".lock"';

export function validateBranch(v: unknown): string {
  const ok = typeof v === 'string'
    && /^[A-Za-z0-9._/-]{1,100}$/.test(v)
    && !v.includes('..') && !v.includes('//') && !v.includes('/.')
    && !/^[-/.]/.test(v) && !/[/.]$/.test(v) && !v.endsWith('.lock');
  if (!ok) throw bad(`invalid branch ${shown(v)}: ${BRANCH_RULE}`);
  return v;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function validateRepoUrl(v: unknown): string {
  const rule = 'repo_url must be an https:// URL of at most 500 characters without credentials or spaces (for example https://github.com/me/app.git)';
  if (typeof v !== 'string' || v.length === 0 || v.length > 500 || v.startsWith('-') || /[\s\x00-\x1f\x7f]/.test(v)) throw bad(rule);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw bad(rule);
  }
  // http:// only to this machine, so tests can serve a repo without TLS.
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  if (!schemeOk || url.hostname === '') throw bad(rule);
  // Credentials would be stored in plaintext and shown in listings; private repos are fetched otherwise.
  if (url.username !== '' || url.password !== '') throw bad(`${rule}; put no user name or password in it`);
  // The stricter shape git fetch is run with (webhooks/repo-url.ts); checked again before each fetch.
  const problem = repoUrlProblem(v);
  if (problem) throw bad(`${rule}; refused because ${problem}`);
  return v;
}

function integer(key: string, v: unknown, min: number, max: number, unit = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${key} must be a whole number from ${min} to ${max}${unit}`);
  return v;
}

export function validateCpus(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0.05 || v > 64) throw bad('cpus must be a number from 0.05 to 64');
  return Math.round(v * 100) / 100;
}

export function validateHealthPath(v: unknown): string {
  if (typeof v !== 'string' || !/^\/[\x21-\x7e]{0,199}$/.test(v)) {
    throw bad('health_path must start with "/" and be at most 200 printable characters without spaces');
  }
  return v;
}

/**
 * A path inside the pushed tree (dockerfile_path) or inside the container (volume path): plain
 * segments only, since it becomes a tar entry name, a Docker build option or a mount target.
 */
export function validateRepoPath(key: string, v: unknown, absolute = false): string {
  const rule = `${key} must be ${absolute ? 'an absolute path such as /data' : 'a relative path such as docker/web.Dockerfile'}: 1-200 characters of letters, digits and . _ - /, without ".." or "." segments`;
  if (typeof v !== 'string' || v.length > 200 || !/^[A-Za-z0-9._/-]+$/.test(v)) throw bad(rule);
  const segments = (absolute ? v.replace(/^\//, '') : v).split('/');
  if (absolute !== v.startsWith('/') || segments.some((p) => p === '' || p === '.' || p === '..')) throw bad(rule);
  if (absolute && ['/', '/proc', '/sys', '/dev', '/etc', '/bin', '/sbin', '/usr', '/lib', '/lib64'].some((p) => v === p || v.startsWith(`${p}/`))) {
    throw bad(`${key} ${v} is a system folder; choose a folder of your own such as /data`);
  }
  return v;
}

/** Validates the settings present in the body; absent ones stay absent. */
function parseSettings(body: Record<string, unknown>): AppUpdate {
  const out: AppUpdate = {};
  if (body.repo_url !== undefined) out.repo_url = body.repo_url === null || body.repo_url === '' ? null : validateRepoUrl(body.repo_url);
  if (body.branch !== undefined) out.branch = validateBranch(body.branch);
  if (body.port !== undefined) out.port = integer('port', body.port, 1, 65535);
  if (body.memory_mb !== undefined) out.memory_mb = integer('memory_mb', body.memory_mb, 32, 65536, ' (MB)');
  if (body.cpus !== undefined) out.cpus = validateCpus(body.cpus);
  if (body.health_path !== undefined) out.health_path = validateHealthPath(body.health_path);
  if (body.health_timeout_s !== undefined) out.health_timeout_s = integer('health_timeout_s', body.health_timeout_s, 1, 3600, ' (seconds)');
  if (body.drain_s !== undefined) out.drain_s = integer('drain_s', body.drain_s, 0, 3600, ' (seconds)');
  if (body.dockerfile_path !== undefined) out.dockerfile_path = body.dockerfile_path === null || body.dockerfile_path === '' ? null : validateRepoPath('dockerfile_path', body.dockerfile_path);
  if (body.build_images !== undefined) {
    out.build_images = body.build_images === null ? null : JSON.stringify(parseAppBuildImages(body.build_images));
  }
  if (body.source !== undefined) out.source = validateSource(body.source);
  if (body.image_tag !== undefined) out.image_tag = body.image_tag === null || body.image_tag === '' ? null : validateImageTag(body.image_tag);
  if (body.node_labels !== undefined) out.node_labels = validateNodeLabels(body.node_labels);
  if (body.spread !== undefined) out.spread = validateSpread(body.spread);
  return out;
}

export type CreateAppInput = { name: string } & AppUpdate;

export function parseCreateApp(body: Record<string, unknown>): CreateAppInput {
  rejectUnknownFields(body, ['name', ...APP_SETTINGS]);
  if (body.name === undefined) throw new HiyError('invalid_name', 'name is required');
  const name = validateAppName(body.name);
  return { name, ...parseSettings(body) };
}

export function parseUpdateApp(body: Record<string, unknown>): AppUpdate {
  if ('name' in body) throw bad('an app cannot be renamed; create a new app instead');
  rejectUnknownFields(body, APP_SETTINGS);
  const changes = parseSettings(body);
  if (Object.keys(changes).length === 0) throw bad(`nothing to change; give at least one of ${APP_SETTINGS.join(', ')}`);
  return changes;
}

function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v;
}
