import { API_VERSION, HIY_VERSION } from '../../version.js';
import { serverHealth } from '../client.js';
import type { CommandTable } from '../command.js';
import { CliError } from '../errors.js';
import { resolveServerUrl } from '../settings.js';

export const versionCommands: CommandTable = {
  version: {
    usage: '',
    summary: 'Show this CLI\'s version and, when one is configured, the server\'s (also: hiy --version)',
    args: [0, 0],
    async run(ctx) {
      const client = { version: HIY_VERSION, api_version: API_VERSION };
      const url = resolveServerUrl(ctx.env);
      let server: { url: string; version: string; api_version: number } | { url: string; error: string } | null = null;
      if (url !== undefined) {
        try {
          const h = await serverHealth(url);
          server = { url, version: h.version, api_version: h.api_version };
        } catch (err) {
          // The client's own version is still worth printing when the server is down.
          server = { url, error: err instanceof CliError ? err.message : String(err) };
        }
      }
      ctx.print({ client, server }, () => `hiy ${HIY_VERSION} (API ${API_VERSION})\n`
        + (server === null ? ''
          : 'error' in server ? `server ${server.url}: ${server.error}\n`
            : `server ${server.url}: hiy ${server.version} (API ${server.api_version})${server.api_version === API_VERSION ? '' : ' — a different API: get the matching CLI from <server>/cli/hiy'}\n`));
    },
  },
};
