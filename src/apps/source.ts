/**
 * Where an app's releases come from: `git` (pushes, webhooks and `hiy deploy` build the branch)
 * or `image:<repository>` (releases are pulled from a registry; `hiy deploy` and notifications
 * follow the app's image_tag). One place reads and checks the setting for the API, the dashboard,
 * the git endpoint and the webhooks.
 */
import { HiyError } from '../errors.js';
import { familiar, parseRepository, validateTag, type ImageReference } from '../registry/reference.js';
import type { App } from './repo.js';

export const DEFAULT_IMAGE_TAG = 'latest';

export type AppSource =
  | { kind: 'git' }
  | { kind: 'image'; repository: ImageReference; tag: string };

const RULE = 'source must be "git" or "image:<repository>" (for example image:ghcr.io/me/shop)';

/** The stored form of a source setting: `git`, or `image:` and the repository as Docker would write it. */
export function validateSource(v: unknown): string {
  if (v === 'git') return 'git';
  if (typeof v !== 'string' || !v.startsWith('image:')) throw new HiyError('invalid_input', RULE);
  return `image:${familiar(parseRepository(v.slice('image:'.length)))}`;
}

export function validateImageTag(v: unknown): string {
  return validateTag(v);
}

export function sourceOf(app: Pick<App, 'source' | 'image_tag'>): AppSource {
  if (!app.source.startsWith('image:')) return { kind: 'git' };
  return { kind: 'image', repository: parseRepository(app.source.slice('image:'.length)), tag: app.image_tag ?? DEFAULT_IMAGE_TAG };
}

/** What a refused git push or GitHub push says about an app that deploys images. */
export function notFromGit(app: Pick<App, 'name' | 'source'>): string {
  return `${app.name} deploys images from ${app.source.slice('image:'.length)}; git pushes do not deploy it (hiy update ${app.name} --source git to build from git again)`;
}
