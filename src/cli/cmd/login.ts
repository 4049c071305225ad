import { createApiClient, normalizeServerUrl } from '../client.js';
import { stringFlag, type CommandTable } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { readLine } from '../io.js';
import { readSaved, removeSaved, settingsFile, writeSaved } from '../settings.js';

export const loginCommands: CommandTable = {
  login: {
    usage: '[--url URL] [--token TOKEN]',
    summary: 'Check an API token against a server and save both',
    details: 'Without --token the token is read from stdin (typed hidden on a terminal, or piped:\n  hiy login --url http://127.0.0.1:3000 < token.txt).\n'
      + 'Saved to ~/.config/hiy/config.json (mode 0600). HIY_URL and HIY_TOKEN override it.',
    flags: {
      url: { type: 'string', value: 'URL', description: 'the hiy server, e.g. https://hiy.example.com (default: HIY_URL, then the saved one)' },
      token: { type: 'string', value: 'TOKEN', description: 'the API token (visible in the process list; prefer stdin)' },
    },
    args: [0, 0],
    async run(ctx) {
      const rawUrl = stringFlag(ctx, 'url') ?? (ctx.env.HIY_URL || undefined) ?? readSaved(ctx.env).url;
      if (!rawUrl) throw new UsageError('which server? pass --url, e.g. hiy login --url http://127.0.0.1:3000');
      const url = normalizeServerUrl(rawUrl);
      const token = stringFlag(ctx, 'token') ?? await readLine(ctx.io, `API token for ${url}: `, { hidden: true });
      if (!token) throw new UsageError('no token given (pass --token or type it on stdin)');
      try {
        await createApiClient(url, token).request('GET', '/apps');
      } catch (err) {
        if (err instanceof CliError && err.status === 401) throw new CliError(`${url} refused this token: nothing saved`);
        throw err;
      }
      const file = writeSaved(ctx.env, { url, token });
      ctx.print({ url, saved: file }, () => `Logged in to ${url} (saved in ${file}).\n`);
    },
  },

  logout: {
    usage: '',
    summary: 'Forget the saved server and token (the token stays valid: revoke it with tokens:revoke)',
    args: [0, 0],
    async run(ctx) {
      const removed = removeSaved(ctx.env);
      const file = settingsFile(ctx.env);
      ctx.print({ removed, file }, () => (removed ? `Logged out (removed ${file}).\n` : 'Not logged in.\n'));
    },
  },
};
