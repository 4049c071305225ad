import type { AppView, PlacementView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, listFlag, numberFlag, stringFlag, type CommandTable, type Ctx, type FlagSpec } from '../command.js';
import { followBuild } from '../follow.js';
import { UsageError } from '../errors.js';
import { formatPairs, formatTable, formatTime, shortSha } from '../format.js';
import { readLine } from '../io.js';
import { openInBrowser } from '../open.js';
import { confirmByName } from '../confirm.js';

const SETTING_FLAGS: Record<string, FlagSpec & { field: string; numeric?: boolean; json?: boolean }> = {
  repo: { type: 'string', value: 'URL', field: 'repo_url', description: 'https:// git URL to deploy from (webhooks, hiy deploy); "" clears it' },
  branch: { type: 'string', value: 'B', field: 'branch', description: 'branch to deploy (default main)' },
  port: { type: 'string', value: 'N', field: 'port', numeric: true, description: 'port the app listens on inside its container, given as PORT (default 5000)' },
  memory: { type: 'string', value: 'MB', field: 'memory_mb', numeric: true, description: 'memory limit in MB, 32-65536 (default 512)' },
  cpus: { type: 'string', value: 'N', field: 'cpus', numeric: true, description: 'CPU limit, 0.05-64 (default 0.5)' },
  'health-path': { type: 'string', value: 'PATH', field: 'health_path', description: 'path that must answer before traffic switches (default /)' },
  'health-timeout': { type: 'string', value: 'S', field: 'health_timeout_s', numeric: true, description: 'seconds a new release has to become healthy (default 60)' },
  drain: { type: 'string', value: 'S', field: 'drain_s', numeric: true, description: 'seconds the old release gets to finish requests (default 10)' },
  dockerfile: { type: 'string', value: 'PATH', field: 'dockerfile_path', description: 'Dockerfile to build, relative to the repo root (default: ./Dockerfile, else a detected strategy); "" clears it' },
  source: { type: 'string', value: 'SRC', field: 'source', description: 'where releases come from: git (default) or image:<repository>, e.g. image:ghcr.io/me/shop' },
  'image-tag': { type: 'string', value: 'TAG', field: 'image_tag', description: 'with an image source: the tag hiy deploy and notifications follow (default latest)' },
  'build-images': { type: 'string', value: 'JSON', field: 'build_images', json: true, description: 'base images for generated builds, e.g. \'{"node":"node:20-bookworm-slim"}\' (keys node, python, go, goRuntime, static)' },
};

/** Where the app runs on a Swarm (docs/nodes.md, "Placing an app"); hiy update only. */
const PLACEMENT_FLAGS: Record<string, FlagSpec> = {
  'node-label': { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'on a Swarm, run the app only on nodes with this label (repeatable: all must match; replaces the app\'s labels)' },
  'node-label-clear': { type: 'boolean', description: 'remove the app\'s node labels: any node may run it' },
  spread: { type: 'boolean', description: 'start each new process on the node with the fewest of the app\'s (the default)' },
  'no-spread': { type: 'boolean', description: 'let Swarm choose each new process\'s node (the one with the fewest tasks of any app)' },
};

/** --node-label k=v … / --node-label-clear / --spread / --no-spread as API fields. */
export function placementFromFlags(ctx: Pick<Ctx, 'flags'>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const labels = listFlag(ctx as Ctx, 'node-label');
  if (labels && ctx.flags['node-label-clear'] === true) throw new UsageError('--node-label and --node-label-clear contradict each other: give one');
  if (labels) {
    const out: Record<string, string> = {};
    for (const l of labels) {
      const eq = l.indexOf('=');
      if (eq <= 0 || eq === l.length - 1) throw new UsageError(`--node-label takes KEY=VALUE, for example role=fast (got "${l}")`);
      out[l.slice(0, eq)] = l.slice(eq + 1);
    }
    body.node_labels = out;
  }
  if (ctx.flags['node-label-clear'] === true) body.node_labels = null;
  if (ctx.flags.spread === true && ctx.flags['no-spread'] === true) throw new UsageError('--spread and --no-spread contradict each other: give one');
  if (ctx.flags.spread === true) body.spread = true;
  if (ctx.flags['no-spread'] === true) body.spread = false;
  return body;
}

/** `role=fast, spread`; `any node, spread` by default. */
export function placementWords(a: Pick<AppView, 'node_labels' | 'spread'>): string {
  const labels = Object.entries(a.node_labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return `${labels ? `nodes with ${labels}` : 'any node'}, ${a.spread === false ? 'no spread' : 'spread'}`;
}

function parseJsonFlag(flag: string, v: string): unknown {
  if (v === '') return null;
  try {
    return JSON.parse(v);
  } catch {
    throw new UsageError(`--${flag} must be JSON, for example '{"node":"node:20-bookworm-slim"}'`);
  }
}

function settingsFromFlags(ctx: Ctx): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(SETTING_FLAGS)) {
    const v = spec.numeric ? numberFlag(ctx, flag) : stringFlag(ctx, flag);
    if (v !== undefined) body[spec.field] = spec.json && typeof v === 'string' ? parseJsonFlag(flag, v) : v;
  }
  return body;
}

function appPairs(a: AppView, placement?: PlacementView | null): [string, string | number | null][] {
  return [
    ['name', a.name],
    ['status', `${statusWord(a)}${a.status_note ? ` (${a.status_note})` : ''}`],
    ['stopped', a.stopped.length ? `${a.stopped.join(', ')} (hiy ps:start ${a.name})` : null],
    ['url', a.url],
    ['source', a.source === 'git' ? 'git' : `${a.source} (follows tag ${a.image_tag ?? 'latest'})`],
    ['git remote', a.source === 'git' ? a.git_remote : null],
    ['repo', a.repo_url],
    ['branch', a.branch],
    ['port', a.port],
    ['memory', `${a.memory_mb} MB`],
    ['cpus', a.cpus],
    ['health check', `${a.health_path} (timeout ${a.health_timeout_s}s, drain ${a.drain_s}s)`],
    ['dockerfile', a.dockerfile_path],
    ['build images', Object.keys(a.build_images ?? {}).length ? JSON.stringify(a.build_images) : null],
    ['volume', a.volume_path ? `hiy-${a.name}-data at ${a.volume_path}` : null],
    ['placement', `${placementWords(a)}${placement ? placement.applies ? ` (nodes: ${placement.matching_nodes.join(', ') || 'none'})` : ' (no effect: one engine)' : ''}`],
    ['placement note', placement?.note ?? null],
    ['release', a.current_release ? `v${a.current_release.version} ${a.current_release.image_ref ? `${a.current_release.image_ref} ` : ''}${shortSha(a.current_release.sha)} (${formatTime(a.current_release.created_at)})` : 'not deployed yet'],
    ['last deploy', a.last_deploy ? `#${a.last_deploy.id} ${a.last_deploy.status} ${shortSha(a.last_deploy.sha)} (${formatTime(a.last_deploy.created_at)})` : null],
    ['created', formatTime(a.created_at)],
  ];
}

/** `no release` for no_release, and `, maintenance` while Caddy shows the maintenance page. */
export function statusWord(a: Pick<AppView, 'status' | 'maintenance'>): string {
  return `${a.status.replace('_', ' ')}${a.maintenance ? ', maintenance' : ''}`;
}

const settingsHelp = 'Settings are checked by the server; a bad value is refused with what is allowed.';
/** Every settings flag in the usage line, not half of them. */
const settingsUsage = Object.entries(SETTING_FLAGS).map(([f, spec]) => `[--${f} ${spec.value ?? 'VALUE'}]`).join(' ');

export const appCommands: CommandTable = {
  apps: {
    usage: '',
    summary: 'List apps with their status (running, crashed, deploying, stopped, no release)',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<{ apps: AppView[] }>('GET', '/apps');
      ctx.print(res, () => (res.apps.length === 0
        ? 'No apps yet. Create one with: hiy create <app>\n'
        : formatTable(['NAME', 'STATUS', 'URL', 'BRANCH', 'RELEASE', 'LAST DEPLOY'], res.apps.map((a) => [
          a.name, statusWord(a), a.url, a.branch,
          a.current_release ? `v${a.current_release.version}` : null,
          a.last_deploy ? `#${a.last_deploy.id} ${a.last_deploy.status}` : null,
        ]))));
    },
  },

  create: {
    usage: `<app> ${settingsUsage}`,
    summary: 'Create an app (its git remote, domain and route)',
    details: `App names: 1-30 lowercase letters, digits and "-", starting with a letter.\n${settingsHelp}\n\nExamples:\n  hiy create blog --port 8080\n  hiy create shop --repo https://github.com/me/shop.git --branch production`,
    flags: SETTING_FLAGS,
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: AppView }>('POST', '/apps', { name: arg(ctx, 0), ...settingsFromFlags(ctx) });
      ctx.print(res, () => `Created ${res.app.name}\n${formatPairs([['url', res.app.url], ['git remote', res.app.git_remote]])}`
        + `\nDeploy it with:\n  git remote add hiy ${res.app.git_remote}\n  git push hiy ${res.app.branch}\n`);
    },
  },

  info: {
    usage: '<app>',
    summary: 'Show an app: status, URL, git remote, settings, release, last deploy',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: AppView; placement?: PlacementView | null }>('GET', `/apps/${seg(arg(ctx, 0))}`);
      ctx.print(res, () => formatPairs(appPairs(res.app, res.placement)));
    },
  },

  open: {
    usage: '<app>',
    summary: 'Open the app\'s URL in the browser (and print it)',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ app: AppView }>('GET', `/apps/${seg(arg(ctx, 0))}`);
      ctx.print({ url: res.app.url }, () => `${res.app.url}\n`);
      if (!ctx.json) await openInBrowser(res.app.url);
    },
  },

  update: {
    usage: `<app> ${settingsUsage} [--node-label KEY=VALUE …] [--node-label-clear] [--spread|--no-spread]`,
    summary: 'Change an app\'s settings (they apply at the next deploy; placement at once)',
    details: `${settingsHelp}\nPlacement (docs/nodes.md): on a Swarm of 2+ nodes, --node-label keeps the app's processes on nodes with that label, and a change restarts the app through the zero-downtime switch (labels no ready node has are refused). On one engine it is stored and shown but changes nothing.\n\nExamples:\n  hiy update shop --memory 256\n  hiy update shop --node-label role=fast --node-label disk=ssd\n  hiy update shop --node-label-clear --spread`,
    flags: { ...SETTING_FLAGS, ...PLACEMENT_FLAGS },
    args: [1, 1],
    async run(ctx) {
      const body = { ...settingsFromFlags(ctx), ...placementFromFlags(ctx) };
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one flag');
      const app = arg(ctx, 0);
      const res = await ctx.api().request<{ app: AppView; placement: PlacementView | null; restarted: boolean; deploy_id?: number }>('PATCH', `/apps/${seg(app)}`, body);
      const placed = 'node_labels' in body || 'spread' in body;
      ctx.print(res, () => `Updated ${res.app.name}\n${formatPairs(appPairs(res.app, res.placement))}`
        + (placed && res.placement && !res.placement.applies ? `Placement stored; it has no effect here: ${res.placement.note ?? ''}\n` : '')
        + (res.restarted ? `Moving ${res.app.name}: restarting through the zero-downtime switch (deploy #${res.deploy_id ?? '?'})\n` : ''));
      // The move is a deploy: its outcome (a node that cannot take it after all) is the command's.
      if (res.restarted && res.deploy_id !== undefined && !ctx.json) await followBuild(ctx, res.app.name, res.deploy_id);
    },
  },

  destroy: {
    usage: '<app> [--confirm <app>] [--volumes]',
    summary: 'Delete an app: containers, images, git repo, env vars, deploy history',
    details: 'On a terminal it asks you to type the app name. Scripts pass --confirm <app>. The app\'s volume (its data) is kept unless --volumes is given.',
    flags: {
      confirm: { type: 'string', value: 'APP', description: 'the app name again, to confirm without a prompt' },
      volumes: { type: 'boolean', description: 'also delete the app\'s persistent volume hiy-<app>-data' },
    },
    args: [1, 1],
    async run(ctx) {
      const app = arg(ctx, 0);
      await confirmByName(ctx, app, { kind: 'app name', warning: `This deletes ${app} with its containers, images, git repo, env vars and deploy history.` });
      const volumes = ctx.flags.volumes === true;
      const res = await ctx.api().request<{ destroyed: string; volumes_removed: string[] }>('DELETE', `/apps/${seg(app)}${volumes ? '?volumes=true' : ''}`);
      ctx.print(res, () => `Destroyed ${app}${res.volumes_removed.length ? ` and its volume${res.volumes_removed.length > 1 ? 's' : ''} ${res.volumes_removed.join(', ')}` : volumes ? ' (it had no volume)' : ''}\n`);
    },
  },
};

// Heroku's apps:* names for the same commands.
appCommands['apps:create'] = appCommands.create!;
appCommands['apps:info'] = appCommands.info!;
appCommands['apps:open'] = appCommands.open!;
appCommands['apps:update'] = appCommands.update!;
appCommands['apps:destroy'] = appCommands.destroy!;
