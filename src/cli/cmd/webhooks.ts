import type { DeliveryView, WebhookView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, type CommandTable, type Ctx } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { formatPairs, formatTable, formatTime, shortSha } from '../format.js';
import { readLine } from '../io.js';

function settingsText(app: string, w: WebhookView): string {
  if (w.registry_url) return imageSettingsText(app, w);
  const pairs: [string, string | null][] = [
    ['Payload URL', w.payload_url],
    ['Content type', w.content_type],
    ['Secret', w.secret ?? `(set; shown only when it was made: hiy webhook ${app} --rotate for a new one)`],
    ['Events', 'Just the push event'],
    ['Deploys', `${w.repo_url ?? '(no repo_url)'} branch ${w.branch}`],
    ['Repo token', w.repo_token ? 'set (private repo)' : 'none (public repo; hiy repo-token:set for a private one)'],
  ];
  const where = w.github_settings_url ?? 'your repository on GitHub: Settings → Webhooks → Add webhook';
  return `Add a webhook to ${where} with:\n\n${formatPairs(pairs)}`
    + (w.secret ? `\nThe secret is shown this once; hiy keeps it encrypted. Deliveries: hiy webhook:deliveries ${app}\n` : '');
}

/** An app whose source is an image: the signed notification, and GitHub's registry_package for GHCR. */
function imageSettingsText(app: string, w: WebhookView): string {
  const secret = w.secret ?? `(set; shown only when it was made: hiy webhook ${app} --rotate for a new one)`;
  const notify = formatPairs([
    ['URL', w.registry_url],
    ['Method', 'POST, Content-Type: application/json'],
    ['Body', `{"repository": "${(w.image ?? '').replace(/:[^:/]*$/, '')}", "tag": "${(w.image ?? '').replace(/^.*:/, '')}", "digest": "sha256:…", "timestamp": <unix seconds>}`],
    ['Signature', 'X-Hiy-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>'],
    ['Secret', secret],
  ]);
  const github = w.events.includes('registry_package')
    ? `\nOr let GitHub tell hiy: add a webhook to the repository the package belongs to with:\n\n${formatPairs([
      ['Payload URL', w.payload_url], ['Content type', w.content_type], ['Secret', '(the same secret)'], ['Events', 'Registry packages'],
    ])}`
    : '';
  return `${app} deploys ${w.image}. After CI pushes a new image, notify hiy (docs/image-deploys.md):\n\n${notify}${github}`
    + (w.secret ? `\nThe secret is shown this once; hiy keeps it encrypted. Deliveries: hiy webhook:deliveries ${app}\n` : '');
}

async function show(ctx: Ctx): Promise<void> {
  const app = arg(ctx, 0);
  const api = ctx.api();
  if (ctx.flags.rotate === true) {
    const res = await api.request<{ app: string; webhook: WebhookView }>('POST', `/apps/${seg(app)}/webhook`, { rotate: true });
    return ctx.print(res, () => `Rotated the webhook secret of ${res.app}: update it on GitHub now (deliveries signed with the old one are refused).\n\n${settingsText(res.app, res.webhook)}`);
  }
  const current = await api.request<{ app: string; webhook: WebhookView }>('GET', `/apps/${seg(app)}/webhook`);
  if (current.webhook.configured) return ctx.print(current, () => settingsText(current.app, current.webhook));
  const made = await api.request<{ app: string; webhook: WebhookView }>('POST', `/apps/${seg(app)}/webhook`, {});
  ctx.print(made, () => settingsText(made.app, made.webhook));
}

export const webhookCommands: CommandTable = {
  webhook: {
    usage: '<app> [--rotate]',
    summary: 'Set up push-to-deploy: GitHub\'s webhook, or for an image app its registry notification',
    details: 'The first call makes the webhook secret and shows it once; later calls show the settings\n'
      + 'without it. --rotate makes a new secret (the old one stops working at once).\n'
      + 'The app needs a repo_url first: hiy update <app> --repo https://github.com/<owner>/<repo>.git',
    flags: { rotate: { type: 'boolean', description: 'replace the secret with a new one (shown once)' } },
    args: [1, 1],
    run: show,
  },

  'webhook:deliveries': {
    usage: '<app>',
    summary: 'List the GitHub deliveries an app received and what hiy did with each',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; deliveries: DeliveryView[] }>('GET', `/apps/${seg(arg(ctx, 0))}/webhook/deliveries`);
      ctx.print(res, () => (res.deliveries.length === 0
        ? `${res.app} has received no deliveries yet.\n`
        : formatTable(['RECEIVED', 'EVENT', 'REF', 'SHA', 'OUTCOME', 'DELIVERY'], res.deliveries.map((d) => [
          formatTime(d.received_at), d.event, d.ref?.replace(/^refs\/heads\//, ''), shortSha(d.after), d.outcome, d.delivery_id,
        ]))));
    },
  },

  'repo-token:set': {
    usage: '<app>',
    summary: 'Store an access token for fetching a private repo (read from stdin)',
    details: 'Use a GitHub fine-grained token limited to the repository, with Contents: read-only.\n'
      + 'It is read from stdin (hidden on a terminal), stored encrypted and never shown again:\n'
      + '  hiy repo-token:set shop < token.txt',
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      const token = await readLine(ctx.io, `Access token for ${app}'s repository: `, { hidden: true });
      if (!token) throw new UsageError('no token on stdin');
      const res = await ctx.api().request<{ app: string; repo_token: boolean }>('PUT', `/apps/${seg(app)}/repo-token`, { token });
      if (!res.repo_token) throw new CliError('the server did not store the token');
      ctx.print(res, () => `Stored the repo token of ${res.app} (encrypted; it is never shown again).\n`);
    },
  },

  'repo-token:unset': {
    usage: '<app>',
    summary: 'Forget the access token of an app\'s repo',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; repo_token: boolean }>('DELETE', `/apps/${seg(arg(ctx, 0))}/repo-token`);
      ctx.print(res, () => `Removed the repo token of ${res.app}.\n`);
    },
  },
};
