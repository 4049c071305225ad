/**
 * app.json at the root of the pushed tree, as Dokku reads it, for its scheduled jobs:
 *
 *   {"cron": [{"command": "node jobs/cleanup.js", "schedule": "*\/15 * * * *"}]}
 *
 * Each entry: `command` (a shell command, or the name of a Procfile process type), `schedule`
 * (5 fields, or 6 with seconds first, or @hourly/@daily/…; parsed by croner, never by hand),
 * optional `concurrency_policy` (forbid: the default, replace; Dokku's allow is read as forbid,
 * since hiy never runs a job twice at once) and `maintenance` (true: the job is not scheduled).
 * The build fails on anything else, naming app.json's line and why: a job that silently never
 * runs is worse than a failed push. Other top-level keys of app.json are left alone.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import { HiyError } from '../errors.js';
import type { CronJob } from './cron-jobs.js';

export const MAX_CRON_JOBS = 50;
const MAX_COMMAND = 4096;
const ENTRY_KEYS = new Set(['command', 'schedule', 'concurrency_policy', 'maintenance']);

/**
 * The one way hiy reads a schedule, at build time and in the scheduler alike: 5 fields (minute
 * first) or 6 (seconds first), no year field, day-of-month and day-of-week combined with OR as in
 * Vixie cron. `timezone` undefined: the host's.
 */
export function cronOf(schedule: string, timezone: string | undefined, fn?: () => void): Cron {
  const opts = { mode: '5-or-6-parts' as const, paused: fn === undefined, catch: true, ...(timezone ? { timezone } : {}) };
  return fn ? new Cron(schedule, opts, fn) : new Cron(schedule, opts);
}

/** A job's id: the first 8 characters of a hash of its schedule and command, as Dokku derives its cron ids. */
export function cronJobId(schedule: string, command: string): string {
  return createHash('sha256').update(`${schedule}\n${command}`).digest('hex').slice(0, 8);
}

/** The line (1-based) of a character offset. */
const lineAt = (text: string, offset: number): number => text.slice(0, Math.max(0, offset)).split('\n').length;

class AppJsonError extends HiyError {
  constructor(text: string, at: Node | number | undefined, message: string) {
    const offset = typeof at === 'number' ? at : at?.offset;
    super('build_failed', `app.json${offset === undefined ? '' : ` line ${lineAt(text, offset)}`}: ${message}`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    // Node 20 says "at position N", newer ones "(line L column C)".
    const pos = /at position (\d+)/.exec(msg);
    const line = /\(line (\d+) column \d+\)/.exec(msg);
    const where = line ? ` line ${line[1]}` : pos ? ` line ${lineAt(text, Number(pos[1]))}` : '';
    throw new HiyError('build_failed', `app.json${where}: not valid JSON (${msg.replace(/\s*\(line \d+ column \d+\)|\s*at position \d+/, '')})`);
  }
}

/** The cron jobs of an app.json's text ([] without a cron key); notes are lines for the build output. */
export function parseAppJson(text: string): { cron: CronJob[]; notes: string[] } {
  const doc = parseJson(text);
  const tree = parseTree(text);
  const node = (...path: (string | number)[]) => (tree ? findNodeAtLocation(tree, path) : undefined);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new AppJsonError(text, 0, 'must be a JSON object');
  const list = (doc as Record<string, unknown>).cron;
  if (list === undefined) return { cron: [], notes: [] };
  if (!Array.isArray(list)) throw new AppJsonError(text, node('cron'), '"cron" must be a list of {"command", "schedule"} entries');
  if (list.length > MAX_CRON_JOBS) throw new AppJsonError(text, node('cron'), `at most ${MAX_CRON_JOBS} cron jobs (found ${list.length})`);
  const notes: string[] = [];
  const jobs: CronJob[] = [];
  list.forEach((entry: unknown, i) => {
    const where = `cron entry ${i + 1}`;
    const fail = (key: string | undefined, message: string): never => {
      throw new AppJsonError(text, (key ? node('cron', i, key) : undefined) ?? node('cron', i), `${where}: ${message}`);
    };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(undefined, 'must be an object with "command" and "schedule"');
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) if (!ENTRY_KEYS.has(key)) fail(key, `unknown key "${key}" (known: ${[...ENTRY_KEYS].join(', ')})`);
    const command = e.command;
    if (typeof command !== 'string' || command.trim() === '') fail('command', '"command" must be a non-empty string');
    if ((command as string).length > MAX_COMMAND || (command as string).includes('\0')) fail('command', `"command" must be at most ${MAX_COMMAND} characters, without NUL`);
    const schedule = e.schedule;
    if (typeof schedule !== 'string' || schedule.trim() === '') fail('schedule', '"schedule" must be a cron expression such as "*/15 * * * *"');
    const trimmed = (schedule as string).trim().replace(/\s+/g, ' ');
    let next: Date | null;
    try {
      const cron = cronOf(trimmed, undefined);
      next = cron.nextRun();
      cron.stop();
    } catch (err) {
      fail('schedule', `"${trimmed}" is not a valid schedule: ${(err as Error).message.replace(/^CronPattern:\s*/, '')}`);
    }
    if (next! === null) fail('schedule', `"${trimmed}" never runs (no such date)`);
    const policy = e.concurrency_policy ?? 'forbid';
    if (policy !== 'forbid' && policy !== 'replace' && policy !== 'allow') fail('concurrency_policy', '"concurrency_policy" must be "forbid", "replace" or "allow"');
    if (policy === 'allow') notes.push(`${where}: concurrency_policy "allow" is read as "forbid": hiy never runs a job twice at once`);
    if (e.maintenance !== undefined && typeof e.maintenance !== 'boolean') fail('maintenance', '"maintenance" must be true or false');
    const cmd = (command as string).trim();
    const id = cronJobId(trimmed, cmd);
    if (jobs.some((j) => j.id === id)) fail(undefined, 'the same command on the same schedule is listed twice');
    jobs.push({ id, command: cmd, schedule: trimmed, concurrency: policy === 'replace' ? 'replace' : 'forbid', maintenance: e.maintenance === true });
  });
  if (jobs.length) notes.push(`app.json: ${jobs.length} cron job${jobs.length === 1 ? '' : 's'}: ${jobs.map((j) => `${j.id} "${j.schedule}"`).join(', ')}`);
  return { cron: jobs, notes };
}
