import type { Hono } from 'hono';
import { LogPre, LogsPage } from './pages/logs.js';
import { ansiToHtml, escapeHtml } from './ansi.js';
import { appFromPath, appHead, statusOfApp } from './apps-data.js';
import type { RuntimeLogLine } from './sources.js';
import { sessionStillValid } from './auth-routes.js';
import { sse } from './sse.js';
import { pageCtx, sendPage, type Ui, type UiEnv } from './ui.js';

export const LOG_LINES = 500;

/** One stored line: time and (for non-web processes) the process type before the text. */
export function renderStoredLine(l: RuntimeLogLine): string {
  const time = /T(\d\d:\d\d:\d\d)/.exec(l.ts)?.[1] ?? '';
  const proc = l.process && l.process !== 'web' ? `<span class="af6">[${escapeHtml(l.process)}]</span> ` : '';
  const text = ansiToHtml(l.line);
  return `<span class="ad">${time}</span> ${proc}${l.stream === 'stderr' ? `<span class="err">${text}</span>` : text}`;
}

/**
 * Runtime logs: from the logs module's ring buffer with a live SSE tail when main.ts hands it
 * over (issue 7), else the engine's recent output of the running containers, refreshed by polling.
 */
export function logRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/apps/:name/logs', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const status = await statusOfApp(ui, row);
    const ctx = pageCtx(ui, c, `${row.name} logs`, 'apps');
    if (ui.logs) {
      const lines = await ui.logs.tail(row.name, LOG_LINES);
      const last = lines[lines.length - 1]?.seq ?? 0;
      return sendPage(c, LogsPage({ ctx, app: appHead(ui, row), status, html: lines.map(renderStoredLine).join('\n'), lineCount: lines.length, source: 'store', lastSeq: last }));
    }
    const { html, count, error } = await dockerRecent(ui, row.name);
    return sendPage(c, LogsPage({ ctx, app: appHead(ui, row), status, html, lineCount: count, source: 'docker', error }));
  });

  app.get('/apps/:name/logs/recent', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const { html } = await dockerRecent(ui, row.name);
    c.header('cache-control', 'no-store');
    return c.html(LogPre({ name: row.name, html }));
  });

  app.get('/apps/:name/logs/stream', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const source = ui.logs;
    if (!source) return c.body(null, 404);
    // EventSource resumes with Last-Event-ID (the seq of the last line it got).
    const rawAfter = c.req.header('last-event-id') ?? c.req.query('after') ?? '0';
    let lastSent = /^\d{1,15}$/.test(rawAfter) ? Number(rawAfter) : 0;
    return sse(c, sessionStillValid(ui, c), async (send, closed) => {
      const pending: RuntimeLogLine[] = [];
      let replayed = false;
      const emit = (l: RuntimeLogLine) => {
        if (l.seq <= lastSent) return;
        lastSent = l.seq;
        send('line', renderStoredLine(l), String(l.seq));
      };
      // Subscribe first, replay what was missed, then let buffered live lines through: none lost, none twice.
      const unsubscribe = source.subscribe((lines) => {
        for (const l of lines) {
          if (l.app !== row.name) continue;
          if (replayed) emit(l);
          else pending.push(l);
        }
      });
      try {
        for (const l of await source.after(row.name, lastSent, 2000)) emit(l);
        replayed = true;
        for (const l of pending.splice(0)) emit(l);
        await closed;
      } finally {
        unsubscribe();
      }
    });
  });
}

async function dockerRecent(ui: Ui, app: string): Promise<{ html: string; count: number; error?: string }> {
  try {
    const runtime = await ui.s.runtime();
    // What someone's terminal showed (hiy run, the console) is theirs, not the app's log.
    const running = (await runtime.list({ app })).filter((x) => x.running && !x.attached);
    if (running.length === 0) return { html: '', count: 0, error: 'No container of this app is running.' };
    const parts: string[] = [];
    let count = 0;
    for (const ct of running) {
      const text = (await runtime.logs(ct.id, { tail: LOG_LINES })).replace(/\n$/, '');
      count += text === '' ? 0 : text.split('\n').length;
      const head = running.length > 1 ? `<span class="af6">==&gt; ${escapeHtml(ct.process)} ${escapeHtml(ct.name)} &lt;==</span>\n` : '';
      parts.push(head + ansiToHtml(text));
    }
    return { html: parts.join('\n'), count };
  } catch (err) {
    return { html: '', count: 0, error: `Docker did not give the logs: ${(err as Error).message}` };
  }
}
