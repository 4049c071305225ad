import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context } from 'hono';

/** A static file the dashboard serves, kept in memory with its gzip form (the set is under 80 KB). */
export interface Asset {
  /** URL with a content hash in it, so it can be cached for a year. */
  url: string;
  type: string;
  body: Buffer;
  gzip: Buffer;
}

export interface Assets {
  css: Asset;
  js: Asset;
  htmx: Asset;
  byUrl: Map<string, Asset>;
  /** The console's terminal (xterm.js from its npm packages, ~0.5 MB): read on its first request only. */
  console: { xtermJs: string; xtermCss: string; fitJs: string; consoleJs: string };
  lazy: Map<string, () => Asset>;
}

function asset(file: string, name: string, type: string): Asset {
  const body = readFileSync(file);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
  const dot = name.lastIndexOf('.');
  return { url: `/assets/${name.slice(0, dot)}.${hash}${name.slice(dot)}`, type, body, gzip: gzipSync(body, { level: 9 }) };
}

/**
 * Reads the dashboard's CSS and script from `<root>/ui/assets` and htmx from its npm package
 * (node_modules, installed by `npm ci`): no CDN, nothing fetched at run time.
 */
export function loadAssets(root: string): Assets {
  const require = createRequire(join(root, 'package.json'));
  const htmxFile = require.resolve('htmx.org/dist/htmx.min.js');
  const JS = 'text/javascript; charset=utf-8';
  const css = asset(join(root, 'ui', 'assets', 'hiy.css'), 'hiy.css', 'text/css; charset=utf-8');
  const js = asset(join(root, 'ui', 'assets', 'hiy.js'), 'hiy.js', JS);
  const htmx = asset(htmxFile, 'htmx.min.js', JS);
  const consoleJs = asset(join(root, 'ui', 'assets', 'console.js'), 'console.js', JS);
  // Named by the package's version instead of a content hash, so nothing is read before it is asked for.
  const lazy = new Map<string, () => Asset>();
  const later = (pkg: string, file: string, name: string, type: string): string => {
    const version = (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
    const dot = name.lastIndexOf('.');
    const url = `/assets/${name.slice(0, dot)}.${version}${name.slice(dot)}`;
    let loaded: Asset | undefined;
    lazy.set(url, () => (loaded ??= { ...asset(require.resolve(`${pkg}/${file}`), name, type), url }));
    return url;
  };
  return {
    css, js, htmx,
    byUrl: new Map([css, js, htmx, consoleJs].map((a) => [a.url, a])),
    console: {
      xtermJs: later('@xterm/xterm', 'lib/xterm.js', 'xterm.js', JS),
      xtermCss: later('@xterm/xterm', 'css/xterm.css', 'xterm.css', 'text/css; charset=utf-8'),
      fitJs: later('@xterm/addon-fit', 'lib/addon-fit.js', 'addon-fit.js', JS),
      consoleJs: consoleJs.url,
    },
    lazy,
  };
}

export function serveAsset(assets: Assets, c: Context): Response | undefined {
  const a = assets.byUrl.get(c.req.path) ?? assets.lazy.get(c.req.path)?.();
  if (!a) return undefined;
  const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  const headers: Record<string, string> = {
    'content-type': a.type,
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  return new Response(new Uint8Array(gzip ? a.gzip : a.body), { headers });
}
