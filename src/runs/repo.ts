/** The runs table (the audit of one-off runs and console sessions, and cron history) and cron_state. */
import type { Kysely } from 'kysely';
import type { RunDetail, RunKind, RunView } from '../contract.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { notFound } from '../errors.js';
import type { RunsTable } from './table.js';

/** Records kept per app: one-off runs and console sessions together, and per cron job. */
export const KEEP_RUNS = { oneOff: 500, perJob: 100 } as const;
/** Bytes of a detached or cron run's output kept with its record. */
export const RUN_OUTPUT_TAIL = 8 * 1024;

const VIEW_COLUMNS = ['id', 'app', 'kind', 'process', 'job', 'command', 'by', 'mode', 'release', 'container', 'scheduled_at',
  'started_at', 'finished_at', 'status', 'exit_code', 'reason'] as const;

export type NewRun = Omit<RunsTable, 'id' | 'finished_at' | 'exit_code' | 'reason' | 'output' | 'started_at' | 'status'>
  & Partial<Pick<RunsTable, 'status' | 'reason' | 'finished_at' | 'started_at'>>;

export async function insertRun(db: Kysely<Database>, run: NewRun): Promise<number> {
  const now = nowIso();
  const row = await db.insertInto('runs')
    .values({ status: 'running', started_at: now, finished_at: null, exit_code: null, reason: null, output: null, ...run })
    .returning('id').executeTakeFirstOrThrow();
  await prune(db, run.app, run.kind === 'cron' ? run.job : null);
  return row.id;
}

export async function finishRun(db: Kysely<Database>, id: number, end: Pick<RunsTable, 'status'> & Partial<Pick<RunsTable, 'exit_code' | 'reason' | 'output'>>): Promise<void> {
  await db.updateTable('runs').set({ finished_at: nowIso(), ...end }).where('id', '=', id).execute();
}

export async function listRuns(db: Kysely<Database>, app: string, opts: { kinds?: RunKind[]; job?: string; limit?: number; before?: number } = {}): Promise<RunView[]> {
  let q = db.selectFrom('runs').select(VIEW_COLUMNS).where('app', '=', app);
  if (opts.kinds) q = q.where('kind', 'in', opts.kinds);
  if (opts.before !== undefined) q = q.where('id', '<', opts.before);
  if (opts.job !== undefined) q = q.where('job', '=', opts.job);
  return q.orderBy('id', 'desc').limit(opts.limit ?? 50).execute();
}

/** Like listRuns, with each run's output tail (cron:logs). */
export async function listRunDetails(db: Kysely<Database>, app: string, opts: { kinds: RunKind[]; job?: string; limit: number }): Promise<RunDetail[]> {
  let q = db.selectFrom('runs').select([...VIEW_COLUMNS, 'output']).where('app', '=', app).where('kind', 'in', opts.kinds);
  if (opts.job !== undefined) q = q.where('job', '=', opts.job);
  return q.orderBy('id', 'desc').limit(opts.limit).execute();
}

export async function getRun(db: Kysely<Database>, app: string, id: number): Promise<RunDetail> {
  const row = await db.selectFrom('runs').select([...VIEW_COLUMNS, 'output']).where('app', '=', app).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`run ${id} of app "${app}"`);
  return row;
}

/** The newest record of each of an app's cron jobs that is not a skip (the last result `hiy cron` shows). */
export async function lastCronRuns(db: Kysely<Database>, app: string): Promise<Map<string, RunView>> {
  const rows = await db.selectFrom('runs').select(VIEW_COLUMNS)
    .where('id', 'in', (eb) => eb.selectFrom('runs').select((e) => e.fn.max('id').as('id'))
      .where('app', '=', app).where('kind', '=', 'cron').where('status', '!=', 'skipped').groupBy('job'))
    .execute();
  return new Map(rows.map((r) => [r.job ?? '', r]));
}

/** Records still `running` when hiy starts: their containers went with the previous process. */
export async function settleInterruptedRuns(db: Kysely<Database>): Promise<number> {
  const res = await db.updateTable('runs').set({ status: 'interrupted', finished_at: nowIso(), reason: 'hiy stopped while it ran' })
    .where('status', '=', 'running').executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Keeps the newest KEEP_RUNS records: one-offs and consoles per app, cron runs per job. */
async function prune(db: Kysely<Database>, app: string, job: string | null): Promise<void> {
  let keep = db.selectFrom('runs').select('id').where('app', '=', app);
  keep = job === null ? keep.where('kind', '!=', 'cron') : keep.where('kind', '=', 'cron').where('job', '=', job);
  const cutoff = await keep.orderBy('id', 'desc').offset(job === null ? KEEP_RUNS.oneOff : KEEP_RUNS.perJob).limit(1).executeTakeFirst();
  if (!cutoff) return;
  let del = db.deleteFrom('runs').where('app', '=', app).where('id', '<=', cutoff.id).where('status', '!=', 'running');
  del = job === null ? del.where('kind', '!=', 'cron') : del.where('kind', '=', 'cron').where('job', '=', job);
  await del.execute();
}

export async function cronCheckedAt(db: Kysely<Database>, app: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('cron_state').select(['job', 'checked_at']).where('app', '=', app).execute();
  return new Map(rows.map((r) => [r.job, r.checked_at]));
}

export async function setCronCheckedAt(db: Kysely<Database>, app: string, job: string, at: string): Promise<void> {
  await db.insertInto('cron_state').values({ app, job, checked_at: at })
    .onConflict((oc) => oc.columns(['app', 'job']).doUpdateSet({ checked_at: at })).execute();
}

/** Forgets the state of jobs the current release no longer has. */
export async function dropCronStateExcept(db: Kysely<Database>, app: string, jobs: string[]): Promise<void> {
  let q = db.deleteFrom('cron_state').where('app', '=', app);
  if (jobs.length) q = q.where('job', 'not in', jobs);
  await q.execute();
}
