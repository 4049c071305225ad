import type { ProcessView } from '../../contract.js';
import { seg } from '../client.js';
import { arg, type CommandTable, type Ctx } from '../command.js';
import { waitDeployEnd } from '../follow.js';
import { CliError, UsageError } from '../errors.js';
import { formatTable, formatTime } from '../format.js';

interface PsAnswer {
  app: string;
  release: number | null;
  process_types: Record<string, string | null>;
  formation: Record<string, number>;
  processes: ProcessView[];
}

interface VolumesAnswer { app: string; volumes: { name: string; path: string }[] }

/** `web=2 worker=1` → {web: 2, worker: 1}. */
export function parseFormation(args: string[]): Record<string, number> {
  if (args.length === 0) throw new UsageError('give at least one <type>=<count>, for example web=2');
  const out: Record<string, number> = {};
  for (const a of args) {
    const m = /^([a-z][a-z0-9_-]{0,29})=(\d{1,3})$/.exec(a);
    if (!m?.[1] || m[2] === undefined) throw new UsageError(`"${a}" is not <type>=<count> (for example web=2 worker=1)`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

type ScaleAnswer = { app: string; formation: Record<string, number> } | { app: string; status: 'waiting'; deploy: { id: number; app: string }; requested: Record<string, number> };

/** The formation once it holds `wanted` (the scale ran after the deploy); an error after 3 minutes. */
async function scaledAfter(ctx: Ctx, app: string, deploy: { id: number; app: string }, wanted: Record<string, number>): Promise<Record<string, number>> {
  await waitDeployEnd(ctx, deploy.app, deploy.id);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ps = await ctx.api().request<PsAnswer>('GET', `/apps/${seg(app)}/ps`);
    if (Object.entries(wanted).every(([t, n]) => ps.formation[t] === n)) return ps.formation;
    if (Date.now() > deadline) throw new CliError(`the scale of ${app} did not apply within 3 minutes of deploy #${deploy.id} (hiy ps ${app}; the server's log says why)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const restartNote = (r: { restarted?: boolean; deploy_id?: number }) => (r.restarted ? ` (restarting as deploy #${r.deploy_id})` : '');

export const processCommands: CommandTable = {
  ps: {
    usage: '<app>',
    summary: 'Show the app\'s processes (web replicas, workers) and its formation',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<PsAnswer>('GET', `/apps/${seg(arg(ctx, 0))}/ps`);
      ctx.print(res, () => {
        const formation = Object.entries(res.formation).map(([t, n]) => `${t}=${n}`).join(' ');
        const head = `${res.app}: ${res.release === null ? 'no release yet' : `release v${res.release}`}; formation ${formation}\n`;
        if (res.processes.length === 0) return `${head}No processes are running.\n`;
        return head + formatTable(['TYPE', '#', 'STATE', 'RELEASE', 'PORT', 'RESTARTS', 'STARTED', 'CONTAINER'], res.processes.map((p) => [
          p.type, p.replica, p.state, p.release === null ? '-' : `v${p.release}`, p.port ?? '-', p.restart_count, formatTime(p.started_at), p.container,
        ]));
      });
    },
  },

  'ps:scale': {
    usage: '<app> <type>=<count>...',
    summary: 'Scale process types, e.g. hiy ps:scale myapp web=2 worker=1',
    details: `web runs 1-4 replicas, load-balanced by Caddy with no failed requests while scaling; other Procfile types 0-10 containers each.`,
    args: [2, 20],
    async run(ctx) {
      const formation = parseFormation(ctx.args.slice(1));
      const app = arg(ctx, 0);
      const res = await ctx.api().request<ScaleAnswer>('POST', `/apps/${seg(app)}/ps/scale`, { formation });
      if ('deploy' in res) {
        // 202: a deploy runs; the scale follows it. Wait for that deploy over its stream, then for the formation.
        if (!ctx.json) ctx.out(`Deploy #${res.deploy.id} of ${res.deploy.app} is running: scaling ${app} after it…\n`);
        const done = await scaledAfter(ctx, app, res.deploy, formation);
        return ctx.print({ ...res, formation: done }, () => `Scaled ${app}: ${Object.entries(done).map(([t, n]) => `${t}=${n}`).join(' ')}\n`);
      }
      ctx.print(res, () => `Scaled ${res.app}: ${Object.entries(res.formation).map(([t, n]) => `${t}=${n}`).join(' ')}\n`);
    },
  },

  volumes: {
    usage: '<app>',
    summary: 'Show the app\'s persistent volume',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<VolumesAnswer>('GET', `/apps/${seg(arg(ctx, 0))}/volumes`);
      ctx.print(res, () => (res.volumes.length === 0
        ? `${res.app} has no volume (hiy volumes:add ${res.app} /data).\n`
        : formatTable(['VOLUME', 'MOUNTED AT'], res.volumes.map((v) => [v.name, v.path]))));
    },
  },

  'volumes:add': {
    usage: '<app> <path>',
    summary: 'Mount the app\'s persistent volume hiy-<app>-data at <path> in every process',
    details: 'The data is kept across deploys, restarts and rollbacks; only `hiy destroy <app> --volumes` deletes it.',
    args: [2, 2],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; volume: { name: string; path: string }; restarted?: boolean; deploy_id?: number }>(
        'POST', `/apps/${seg(arg(ctx, 0))}/volumes`, { path: arg(ctx, 1) });
      ctx.print(res, () => `Mounted ${res.volume.name} at ${res.volume.path}${restartNote(res)}\n`);
    },
  },

  'volumes:remove': {
    usage: '<app> <path>',
    summary: 'Unmount the app\'s volume (its data is kept until destroy --volumes)',
    args: [2, 2],
    async run(ctx) {
      const res = await ctx.api().request<{ app: string; unmounted: string; data_kept_in: string; restarted?: boolean; deploy_id?: number }>(
        'DELETE', `/apps/${seg(arg(ctx, 0))}/volumes/${arg(ctx, 1).replace(/^\/+/, '').split('/').map(seg).join('/')}`);
      ctx.print(res, () => `Unmounted ${res.unmounted}; the data stays in ${res.data_kept_in}${restartNote(res)}\n`);
    },
  },
};
