import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** Where `npm run build` puts the laptop CLI (scripts/bundle-cli.mjs), next to the compiled server. */
const BUNDLE_DIR = fileURLToPath(new URL('../../cli/', import.meta.url));

function readOr(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * GET /cli/hiy and /cli/hiy.sha256: the laptop CLI, one file that needs only Node 20+ (docs/cli.md).
 * Public like the health check: it holds no secret, and a laptop has no token before it has the
 * CLI. Read once at start: the file is what this build of the server speaks to.
 */
export function cliDownloadRoutes(dir: string = BUNDLE_DIR): Hono {
  const body = readOr(`${dir}hiy.mjs`);
  const sum = readOr(`${dir}hiy.sha256`);
  const r = new Hono();
  const missing = (c: { json: (b: unknown, s: 404) => Response }) => c.json({ error: { code: 'not_found', message: 'this server was built without the laptop CLI (npm run build makes it)' } }, 404);
  r.get('/cli/hiy', (c) => {
    if (!body) return missing(c);
    return c.body(new Uint8Array(body), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'content-disposition': 'attachment; filename="hiy"',
      'cache-control': 'no-cache',
    });
  });
  r.get('/cli/hiy.sha256', (c) => (sum ? c.text(sum.toString('utf8'), 200, { 'cache-control': 'no-cache' }) : missing(c)));
  return r;
}
