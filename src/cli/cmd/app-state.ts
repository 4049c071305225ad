import { seg } from '../client.js';
import { arg, type CommandTable, type Ctx } from '../command.js';

interface StopAnswer { app: string; types: string[]; stopped: string[] }
interface MaintenanceAnswer { app: string; maintenance: boolean }

async function stopOrStart(ctx: Ctx, action: 'stop' | 'start'): Promise<void> {
  const app = arg(ctx, 0);
  const type = ctx.args[1];
  const res = await ctx.api().request<StopAnswer>('POST', `/apps/${seg(app)}/ps/${action}`, type === undefined ? {} : { type });
  ctx.print(res, () => {
    if (res.types.length === 0) return `Nothing was stopped: ${app} runs${type ? ` ${type}` : ''} already.\n`;
    const did = `${action === 'stop' ? 'Stopped' : 'Started'} ${res.types.join(', ')} of ${res.app}.`;
    const rest = res.stopped.length ? ` Stopped now: ${res.stopped.join(', ')} (hiy ps:start ${res.app}).` : '';
    const page = action === 'stop' && res.types.includes('web') ? ' Its URL shows a "stopped" page (503).' : '';
    return `${did}${page}${rest}\n`;
  });
}

async function maintenance(ctx: Ctx, enabled?: boolean): Promise<void> {
  const app = arg(ctx, 0);
  const res = enabled === undefined
    ? await ctx.api().request<MaintenanceAnswer>('GET', `/apps/${seg(app)}/maintenance`)
    : await ctx.api().request<MaintenanceAnswer>('PUT', `/apps/${seg(app)}/maintenance`, { enabled });
  ctx.print(res, () => (res.maintenance
    ? `${res.app} is in maintenance mode: its URL answers 503 with a maintenance page (hiy maintenance:off ${res.app}).\n`
    : `${res.app} is not in maintenance mode.\n`));
}

/** ps:stop / ps:start (deploy/stops.ts) and maintenance mode (apps/maintenance.ts). */
export const appStateCommands: CommandTable = {
  'ps:stop': {
    usage: '<app> [type]',
    summary: 'Stop the app\'s processes (or one type): they stay stopped until ps:start or a deploy',
    details: 'A stopped web keeps its route: the URL answers 503 with a "stopped" page instead of the app.\n'
      + 'Stopped stays stopped across restarts of hiy. A deploy, restart or rollback starts the app\n'
      + 'again (the deploy log says so); env and volume changes are saved and apply at ps:start.\n\n'
      + 'Examples:\n  hiy ps:stop shop\n  hiy ps:stop shop worker',
    args: [1, 2],
    run: (ctx) => stopOrStart(ctx, 'stop'),
  },

  'ps:start': {
    usage: '<app> [type]',
    summary: 'Start stopped processes again (web: healthy before it gets traffic)',
    args: [1, 2],
    run: (ctx) => stopOrStart(ctx, 'start'),
  },

  maintenance: {
    usage: '<app>',
    summary: 'Say whether the app is in maintenance mode',
    args: [1, 1],
    run: (ctx) => maintenance(ctx),
  },

  'maintenance:on': {
    usage: '<app>',
    summary: 'Answer the app\'s URL with a 503 maintenance page (the app keeps running; no proxy reload)',
    args: [1, 1],
    run: (ctx) => maintenance(ctx, true),
  },

  'maintenance:off': {
    usage: '<app>',
    summary: 'Serve the app again after maintenance:on',
    args: [1, 1],
    run: (ctx) => maintenance(ctx, false),
  },
};
