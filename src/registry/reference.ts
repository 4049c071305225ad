/**
 * Image references as Docker writes them (`ghcr.io/me/shop:v2`, `nginx`, `10.0.0.2:5000/app@sha256:…`),
 * parsed by the grammar of distribution/reference: a registry host is the first component when it
 * has a dot or a port or is `localhost`; otherwise the image is on Docker Hub, where a one-part
 * name lives under `library/`. References end up in engine calls and in which credentials are
 * used, so anything outside the grammar is refused here.
 */
import { HiyError } from '../errors.js';

export interface ImageReference {
  /** Registry host (with port), lowercase; Docker Hub is `docker.io`. */
  registry: string;
  /** Repository path inside the registry (`me/shop`, `library/nginx`). */
  path: string;
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

const bad = (raw: string, why: string): HiyError =>
  new HiyError('invalid_input', `"${raw.slice(0, 100)}" is not an image reference: ${why} (for example ghcr.io/me/shop:v2 or registry.example.com/team/app@sha256:…)`);

/** The registry host as logins are stored under: lowercase, Docker Hub's aliases as docker.io. */
export function normalizeRegistryHost(raw: string): string {
  const host = raw.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '').replace(/\/v[12]$/, '');
  if (!DOMAIN_RE.test(host) || host.length > 253) {
    throw new HiyError('invalid_input', `"${raw.slice(0, 100)}" is not a registry host (for example ghcr.io, docker.io or registry.example.com:5000)`);
  }
  return HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** Parses a reference with an optional tag and an optional digest. */
export function parseReference(raw: unknown): ImageReference {
  if (typeof raw !== 'string' || raw.length === 0) throw bad(String(raw ?? ''), 'it is empty');
  if (raw.length > 512 || /[\s\x00-\x1f\x7f]/.test(raw)) throw bad(raw, 'it is too long or has spaces or control characters');
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad(raw, 'the digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(raw, 'a tag is 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"');
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = normalizeRegistryHost(first);
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT_RE.test(p))) {
    throw bad(raw, 'repository names are lowercase letters and digits, separated by "/", ".", "_" or "-"');
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const path = parts.join('/');
  if (registry.length + path.length + 1 > 255) throw bad(raw, 'the name is longer than 255 characters');
  return { registry, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** A repository to follow (an app's `image:<repository>` source): no tag, no digest. */
export function parseRepository(raw: unknown): ImageReference {
  const ref = parseReference(raw);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new HiyError('invalid_input', `"${String(raw).slice(0, 100)}" names a tag or digest; give the repository alone (the tag to follow is image_tag)`);
  }
  return ref;
}

export function validateTag(raw: unknown): string {
  if (typeof raw !== 'string' || !TAG_RE.test(raw)) throw new HiyError('invalid_input', 'image_tag must be 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"');
  return raw;
}

/** `registry/path` as the engine takes it (Docker Hub spelled out, so nothing depends on defaults). */
export const repositoryOf = (r: ImageReference): string => `${r.registry}/${r.path}`;

/** The reference as a user writes it: Docker Hub's `docker.io/` and `library/` left out. */
export function familiar(r: ImageReference): string {
  const name = r.registry === DOCKER_HUB ? r.path.replace(/^library\//, '') : `${r.registry}/${r.path}`;
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The same repository: compared in their normalized form. */
export const sameRepository = (a: ImageReference, b: ImageReference): boolean => a.registry === b.registry && a.path === b.path;
