// What a signed notification about a new image asks of an app whose source is an image, decided
// from the payload alone (no I/O): hiy's own registry notification and GitHub's registry_package
// event. Every rule is unit-tested.

import type { AppSource } from '../apps/source.js';
import { DIGEST_RE, familiar, parseReference, sameRepository, validateTag, type ImageReference } from '../registry/reference.js';

export type ImageDecision =
  | { deploy: true; reference: string; tag?: string | undefined; digest?: string | undefined }
  | { deploy: false; status: number; outcome: string; tag?: string | undefined; digest?: string | undefined };

type ImageSource = Extract<AppSource, { kind: 'image' }>;

/** A notification's timestamp may be this far from hiy's clock, either way (seconds). */
export const NOTIFICATION_WINDOW_S = 300;

const asObject = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined);
const str = (v: unknown, max = 300): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

function tryRepository(raw: string): ImageReference | undefined {
  try {
    const r = parseReference(raw);
    return { registry: r.registry, path: r.path };
  } catch {
    return undefined;
  }
}

/** The deploy of `tag`/`digest` for the app, or why not: same repository, the followed tag; a digest pins what is pulled. */
function decide(source: ImageSource, repository: ImageReference | undefined, named: string, tag: string | undefined, digest: string | undefined): ImageDecision {
  const seen = { tag, digest };
  const follows = familiar(source.repository);
  if (!repository) return { deploy: false, status: 400, outcome: 'rejected: no repository in the notification', ...seen };
  if (!sameRepository(repository, source.repository)) return { deploy: false, status: 403, outcome: `rejected: repository ${JSON.stringify(named.slice(0, 200))} is not ${follows}`, ...seen };
  if (digest !== undefined && !DIGEST_RE.test(digest)) return { deploy: false, status: 400, outcome: 'rejected: digest is not sha256: and 64 hex digits', ...seen };
  if (tag !== undefined && tag !== source.tag) return { deploy: false, status: 200, outcome: `ignored: tag ${tag.slice(0, 128)} (follows ${source.tag})`, ...seen };
  if (tag === undefined && digest === undefined) return { deploy: false, status: 400, outcome: 'rejected: neither tag nor digest', ...seen };
  return { deploy: true, reference: familiar({ ...source.repository, ...(digest ? { digest } : { tag: source.tag }) }), ...seen };
}

/**
 * hiy's own notification (POST /hooks/registry/<app>, docs/image-deploys.md):
 *   {"repository": "ghcr.io/me/shop", "tag": "main", "digest": "sha256:…", "timestamp": 1765000000}
 * tag or digest (or both); timestamp in seconds, within NOTIFICATION_WINDOW_S of `nowS`.
 */
export function decideNotification(source: ImageSource, payload: unknown, nowS: number): ImageDecision {
  const p = asObject(payload);
  if (!p) return { deploy: false, status: 400, outcome: 'rejected: payload is not a JSON object' };
  const tagRaw = p.tag;
  const digest = str(p.digest, 100);
  let tag: string | undefined;
  if (tagRaw !== undefined && tagRaw !== null) {
    try {
      tag = validateTag(tagRaw);
    } catch {
      return { deploy: false, status: 400, outcome: 'rejected: tag is not an image tag', digest };
    }
  }
  const ts = p.timestamp;
  if (typeof ts !== 'number' || !Number.isInteger(ts)) return { deploy: false, status: 400, outcome: 'rejected: timestamp (seconds since 1970) is missing', tag, digest };
  if (Math.abs(nowS - ts) > NOTIFICATION_WINDOW_S) {
    return { deploy: false, status: 400, outcome: `rejected: timestamp is ${Math.round((nowS - ts) / 60)} min from hiy's clock (at most ${NOTIFICATION_WINDOW_S / 60}): a replay, or a wrong clock`, tag, digest };
  }
  const named = str(p.repository) ?? '';
  return decide(source, tryRepository(named), named, tag, digest);
}

/**
 * GitHub's `registry_package` event (action `published`) for an app whose image is on ghcr.io:
 * the repository is the package's URL, the tag and digest its container metadata. A version
 * published without a tag (each platform's image of a multi-platform push) is not deployed: the
 * tagged index that follows is.
 */
export function decideRegistryPackage(source: ImageSource, event: string, payload: unknown): ImageDecision {
  if (event !== 'registry_package') return { deploy: false, status: 200, outcome: `ignored: event ${event.slice(0, 50)} (the app deploys ${familiar(source.repository)})` };
  const p = asObject(payload);
  const pkg = asObject(p?.registry_package);
  if (!p || !pkg) return { deploy: false, status: 400, outcome: 'rejected: registry_package payload without registry_package' };
  if (p.action !== 'published') return { deploy: false, status: 200, outcome: `ignored: action ${str(p.action, 50) ?? '(none)'}` };
  if ((str(pkg.package_type) ?? '').toLowerCase() !== 'container') return { deploy: false, status: 200, outcome: `ignored: package type ${str(pkg.package_type, 50) ?? '(none)'}` };
  if (source.repository.registry !== 'ghcr.io') return { deploy: false, status: 409, outcome: `rejected: the app's image ${familiar(source.repository)} is not on ghcr.io` };
  const version = asObject(pkg.package_version);
  const tagInfo = asObject(asObject(version?.container_metadata)?.tag);
  const tagName = str(tagInfo?.name, 200) ?? '';
  const digest = str(tagInfo?.digest, 100);
  // package_url is "ghcr.io/<owner>/<name>:<tag>"; GitHub writes owners with capitals, GHCR does not.
  const named = (str(version?.package_url) ?? '').toLowerCase().replace(/:[^/:]*$/, '');
  if (tagName === '') return { deploy: false, status: 200, outcome: 'ignored: a version without a tag', digest };
  let tag: string;
  try {
    tag = validateTag(tagName);
  } catch {
    return { deploy: false, status: 400, outcome: 'rejected: tag is not an image tag', digest };
  }
  return decide(source, tryRepository(named), named, tag, digest);
}
