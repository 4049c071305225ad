import { seg } from '../client.js';
import { arg, type CommandTable } from '../command.js';
import { formatTable, formatTime } from '../format.js';

interface DomainsAnswer { app: string; default: string; domains: { host: string; created_at: string }[] }

const show = (res: DomainsAnswer): string => `${res.app} answers on ${res.default}${res.domains.length ? ' and:' : ' only.'}\n`
  + (res.domains.length ? formatTable(['DOMAIN', 'ADDED'], res.domains.map((d) => [d.host, formatTime(d.created_at)])) : '');

export const domainCommands: CommandTable = {
  domains: {
    usage: '<app>',
    summary: 'List the custom domains an app answers on',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<DomainsAnswer>('GET', `/apps/${seg(arg(ctx, 0))}/domains`);
      ctx.print(res, () => show(res));
    },
  },

  'domains:add': {
    usage: '<app> <host>',
    summary: 'Route a custom domain (e.g. shop.example.com) to the app, with TLS through Caddy',
    details: 'Point the name\'s DNS (A/AAAA or CNAME) at this box first: with HIY_TLS=auto Caddy gets\n'
      + 'the certificate over HTTP-01 on the first request. A host used by another app is refused.',
    args: [2, 2],
    async run(ctx) {
      const res = await ctx.api().request<DomainsAnswer>('POST', `/apps/${seg(arg(ctx, 0))}/domains`, { host: arg(ctx, 1) });
      ctx.print(res, () => `Added ${arg(ctx, 1)}.\n${show(res)}`);
    },
  },

  'domains:remove': {
    usage: '<app> <host>',
    summary: 'Stop routing a custom domain to the app',
    args: [2, 2],
    async run(ctx) {
      const res = await ctx.api().request<DomainsAnswer>('DELETE', `/apps/${seg(arg(ctx, 0))}/domains/${seg(arg(ctx, 1))}`);
      ctx.print(res, () => `Removed ${arg(ctx, 1)}.\n${show(res)}`);
    },
  },
};
