/**
 * Notices: a route slot answers a 503 page of its own instead of the app while hiy says so
 * (maintenance mode, a stopped web process). Like hosts and live markers (decision 31), a notice is
 * a file Caddy stats per request in <liveDir>/<index>/: turning it on or off is one file
 * operation, no admin API call, no reload, and the app's containers are not touched.
 */
import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Json, JsonObject } from './caddy-json.js';
import { ensureTraversable } from './live.js';
import type { Notice } from './proxy.js';

export const NOTICES: readonly Notice[] = ['maintenance', 'stopped'];
const fileOf = (n: Notice) => `notice-${n}`;

const PAGE_TEXT: Record<Notice, { title: string; text: string }> = {
  maintenance: { title: 'Down for maintenance', text: 'This app is down for maintenance. Please try again in a few minutes.' },
  stopped: { title: 'App stopped', text: 'This app is stopped by its operator.' },
};

/**
 * A page with nothing to load (no script, no remote asset). No braces: Caddy would read them as
 * placeholders; and no request value (the host is the client's word) goes into the HTML.
 */
export function noticePage(n: Notice): string {
  const { title, text } = PAGE_TEXT[n];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head>`
    + `<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:20vh auto;padding:0 1rem;color:#222"><h1 style="font-size:1.4rem">${title}</h1><p>${text}</p></body></html>\n`;
}

/** The inner routes a route slot checks before its live markers: one per notice, in NOTICES order. */
export function noticeRoutes(dir: string): JsonObject[] {
  return NOTICES.map((n) => ({
    match: [{ file: { root: dir, try_files: [`/${fileOf(n)}`] } }],
    handle: [{
      handler: 'static_response',
      status_code: 503,
      body: noticePage(n),
      headers: { 'Content-Type': ['text/html; charset=utf-8'], 'Retry-After': ['120'], 'Cache-Control': ['no-store'] },
    }],
    terminal: true,
  }));
}

/** Whether `route` is one of the inner routes noticeRoutes makes (matched by the notice file it checks). */
export function isNoticeRoute(route: Json): boolean {
  if (typeof route !== 'object' || route === null || Array.isArray(route) || !Array.isArray(route.match)) return false;
  const m = route.match[0];
  const file = typeof m === 'object' && m !== null && !Array.isArray(m) ? m.file : undefined;
  const tried = typeof file === 'object' && file !== null && !Array.isArray(file) ? file.try_files : undefined;
  return Array.isArray(tried) && tried.length === 1 && NOTICES.some((n) => tried[0] === `/${fileOf(n)}`);
}

export interface NoticeFiles {
  /** The route slot shows `notice` from now on (undefined: the app again). */
  set(key: string, notice: Notice | undefined): Promise<void>;
}

export function createNoticeFiles(liveDir: string): NoticeFiles {
  return {
    async set(key, notice) {
      const dir = join(liveDir, key);
      await ensureTraversable(dir);
      if (notice) {
        const file = join(dir, fileOf(notice));
        await writeFile(file, '', { mode: 0o644 });
        await chmod(file, 0o644);
      }
      const present = new Set(await readdir(dir));
      for (const n of NOTICES) if (n !== notice && present.has(fileOf(n))) await rm(join(dir, fileOf(n)), { force: true });
    },
  };
}
