/**
 * An app's GitHub webhook as the API and the dashboard show it, and the rules for making its
 * secret: one place for both surfaces.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { App } from '../apps/repo.js';
import type { WebhookView } from '../contract.js';
import type { Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import { gitSecretsState, setWebhookSecret } from './secrets.js';
import { sourceOf } from '../apps/source.js';
import { familiar } from '../registry/reference.js';
import { REGISTRY_HOOK_PREFIX } from './image-delivery.js';

/** Where GitHub delivers: POST <public URL>/hooks/github/<app> (webhooks/endpoint.ts). */
export const HOOK_PREFIX = '/hooks/github/';

/** GitHub's "add a webhook" page of the repository, when repo_url is a GitHub repository. */
export function githubHooksPage(repoUrl: string | null): string | null {
  const m = repoUrl ? /^https:\/\/github\.com\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(\.git)?\/?$/i.exec(repoUrl) : null;
  return m ? `https://github.com/${m[1]}/${m[2]}/settings/hooks/new` : null;
}

/** What to enter on GitHub (Settings → Webhooks → Add webhook), and what is set on hiy's side. */
export async function webhookView(d: { db: Kysely<Database>; publicUrl: string }, app: App): Promise<WebhookView> {
  const state = await gitSecretsState(d.db, app.name);
  const source = sourceOf(app);
  const image = source.kind === 'image' ? source : undefined;
  return {
    configured: state.webhook,
    payload_url: `${d.publicUrl}${HOOK_PREFIX}${app.name}`,
    content_type: 'application/json',
    // An app that deploys a GHCR image hears of new versions from GitHub's registry_package event.
    events: image ? (image.repository.registry === 'ghcr.io' ? ['registry_package'] : []) : ['push'],
    registry_url: image ? `${d.publicUrl}${REGISTRY_HOOK_PREFIX}${app.name}` : null,
    image: image ? familiar({ ...image.repository, tag: image.tag }) : null,
    repo_url: app.repo_url,
    branch: app.branch,
    github_settings_url: githubHooksPage(app.repo_url),
    repo_token: state.repoToken,
  };
}

export type NewSecret =
  | { made: true; secret: string; rotated: boolean }
  /** no_repo_url: a git app's webhook deploys from repo_url, which is not set; exists: only `rotate` replaces a secret. */
  | { made: false; why: 'no_repo_url' | 'exists' };

/**
 * A new webhook secret (32 random bytes, hex), stored encrypted. The secret leaves hiy only in
 * the answer that makes it, so an existing one is replaced only when asked to (`rotate`).
 */
export async function makeWebhookSecret(d: { db: Kysely<Database>; secrets: SecretBox }, app: App, rotate: boolean): Promise<NewSecret> {
  // An app that deploys images needs no repo_url: its notifications name the image.
  if (!app.repo_url && sourceOf(app).kind === 'git') return { made: false, why: 'no_repo_url' };
  const { webhook: exists } = await gitSecretsState(d.db, app.name);
  if (exists && !rotate) return { made: false, why: 'exists' };
  const secret = randomBytes(32).toString('hex');
  await setWebhookSecret(d.db, d.secrets, app.name, secret);
  return { made: true, secret, rotated: exists };
}
