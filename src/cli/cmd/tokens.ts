import type { TokenInfo } from '../../contract.js';
import { arg, type CommandTable } from '../command.js';
import { UsageError } from '../errors.js';
import { formatTable, formatTime } from '../format.js';

export const tokenCommands: CommandTable = {
  tokens: {
    usage: '',
    summary: 'List API tokens (never their values)',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<{ tokens: TokenInfo[] }>('GET', '/tokens');
      ctx.print(res, () => formatTable(['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'], res.tokens.map((t) => [
        t.id, t.name, `${t.prefix}…`, formatTime(t.created_at), formatTime(t.last_used_at), formatTime(t.revoked_at),
      ])));
    },
  },

  'tokens:create': {
    usage: '<name>',
    summary: 'Create an API token (shown once)',
    details: 'Use one token per machine or CI system, so each can be revoked alone.\nExample: hiy tokens:create "github actions"',
    args: [1, 1],
    async run(ctx) {
      const res = await ctx.api().request<{ token: TokenInfo; value: string }>('POST', '/tokens', { name: arg(ctx, 0) });
      ctx.print(res, () => `Created token ${res.token.id} (${res.token.name}). Store it now; it is not shown again:\n\n  ${res.value}\n\n`);
    },
  },

  'tokens:revoke': {
    usage: '<id>',
    summary: 'Revoke an API token (it stops working at once)',
    args: [1, 1],
    async run(ctx) {
      const id = arg(ctx, 0);
      if (!/^\d+$/.test(id)) throw new UsageError(`token id must be a number (see hiy tokens), not "${id}"`);
      const res = await ctx.api().request<{ token: TokenInfo }>('DELETE', `/tokens/${id}`);
      ctx.print(res, () => `Revoked token ${res.token.id} (${res.token.name}).\n`);
    },
  },
};
