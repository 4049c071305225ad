import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { LogLine } from '../runtime/runtime.js';

type LogStreamName = LogLine['stream'];

/** A line as capture hands it over. */
export interface CapturedLine {
  app: string;
  container: string;
  process: string;
  deployId: number | null;
  stream: LogStreamName;
  ts: string;
  text: string;
}

/** A line as stored; `seq` is per app, increasing, and the SSE event id. */
export interface StoredLine {
  app: string;
  seq: number;
  ts: string;
  stream: LogStreamName;
  process: string;
  deploy_id: number | null;
  container: string;
  line: string;
}

/** Where reading a container stopped: resume after `lastTs`, skipping `sameTs` lines stamped exactly so. */
export interface Cursor {
  app: string;
  lastTs: string;
  sameTs: number;
}

export interface LogStoreOptions {
  /** Lines kept per app. */
  maxLines: number;
  /** How long lines wait to be written together (live tails get them at once, not after this). */
  flushMs?: number;
}

type Listener = (lines: StoredLine[]) => void;

const INSERT_CHUNK = 500;
/** Pending lines that force a flush before the timer: a chatty app must not grow memory. */
const FLUSH_NOW_AT = 2000;
const COLUMNS = ['app', 'seq', 'ts', 'stream', 'process', 'deploy_id', 'container', 'line'] as const;

/**
 * The per-app ring buffer in SQLite. Lines get their per-app number when they arrive and go to
 * live listeners at once; they are written in batches (one transaction a second: measured, a
 * transaction every 100 ms cost 15 apps' worth of logging ~5 % of a core), and each batch writes
 * the read cursor of the containers it covers, so a restart of hiy resumes exactly where the
 * stored lines end (lines not yet written are read again from Docker). Reads merge the lines not
 * yet written. Trimming deletes by seq range on the (app, seq) index: no count, no scan.
 */
export class LogStore {
  private pending: StoredLine[] = [];
  /** Lines handed out but not yet committed (pending + the batch being written), oldest first. */
  private unwritten: StoredLine[] = [];
  private readonly cursors = new Map<string, Cursor>();
  private readonly seqs = new Map<string, number>();
  private readonly listeners = new Set<Listener>();
  private toNotify: StoredLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private signalClosed: () => void = () => {};
  /** Settles when hiy shuts the store: live tails end then. */
  readonly closed = new Promise<void>((resolve) => { this.signalClosed = resolve; });

  constructor(private readonly db: Kysely<Database>, private readonly log: Logger, private readonly opts: LogStoreOptions) {
    this.flushMs = opts.flushMs ?? 1000;
  }

  get maxLines(): number {
    return this.opts.maxLines;
  }

  /** Loads each app's last line number; call before the first add(). */
  async init(): Promise<void> {
    const rows = await this.db.selectFrom('app_logs').select(['app', (eb) => eb.fn.max('seq').as('m')]).groupBy('app').execute();
    for (const r of rows) this.seqs.set(r.app, Math.max(this.seqs.get(r.app) ?? 0, Number(r.m ?? 0)));
  }

  add(line: CapturedLine): void {
    const c = this.cursors.get(line.container);
    if (c && c.lastTs === line.ts) c.sameTs++;
    else if (!c || line.ts > c.lastTs) this.cursors.set(line.container, { app: line.app, lastTs: line.ts, sameTs: 1 });
    const seq = (this.seqs.get(line.app) ?? 0) + 1;
    this.seqs.set(line.app, seq);
    const stored: StoredLine = { app: line.app, seq, ts: line.ts, stream: line.stream, process: line.process, deploy_id: line.deployId, container: line.container, line: line.text };
    this.pending.push(stored);
    this.unwritten.push(stored);
    // Lines of one tick go to listeners together; with nobody tailing there is nothing to do.
    if (this.listeners.size > 0 && this.toNotify.push(stored) === 1) setImmediate(() => this.notify());
    if (this.pending.length >= FLUSH_NOW_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** The container's read position: what was added in this process, else what was stored. */
  async cursor(container: string): Promise<Cursor | undefined> {
    const mem = this.cursors.get(container);
    if (mem) return { ...mem };
    const row = await this.db.selectFrom('log_cursors').selectAll().where('container', '=', container).executeTakeFirst();
    if (!row) return undefined;
    const c = { app: row.app, lastTs: row.last_ts, sameTs: row.same_ts };
    this.cursors.set(container, c);
    return { ...c };
  }

  /** A removed container will not be read again: its cursor goes (after pending lines are written). */
  async forget(container: string): Promise<void> {
    await this.flush();
    this.cursors.delete(container);
    await this.db.deleteFrom('log_cursors').where('container', '=', container).execute();
  }

  /** Forgets cursors of containers that no longer exist (keeps `alive`). */
  async pruneCursors(alive: Set<string>): Promise<void> {
    const rows = await this.db.selectFrom('log_cursors').select('container').execute();
    const gone = rows.map((r) => r.container).filter((c) => !alive.has(c));
    for (const c of gone) this.cursors.delete(c);
    for (let i = 0; i < gone.length; i += INSERT_CHUNK) {
      await this.db.deleteFrom('log_cursors').where('container', 'in', gone.slice(i, i + INSERT_CHUNK)).execute();
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The newest `lines` lines of an app, oldest first. */
  async tail(app: string, lines: number, process?: string): Promise<StoredLine[]> {
    let q = this.db.selectFrom('app_logs').select(COLUMNS).where('app', '=', app);
    if (process) q = q.where('process', '=', process);
    const rows = (await q.orderBy('seq', 'desc').limit(lines).execute()).reverse();
    return [...rows, ...this.unwrittenAfter(app, rows.at(-1)?.seq ?? 0, process)].slice(-lines);
  }

  /** Lines after `seq`, oldest first (an SSE client resuming with Last-Event-ID). */
  async after(app: string, seq: number, limit: number, process?: string): Promise<StoredLine[]> {
    let q = this.db.selectFrom('app_logs').select(COLUMNS).where('app', '=', app).where('seq', '>', seq);
    if (process) q = q.where('process', '=', process);
    const rows = await q.orderBy('seq', 'asc').limit(limit).execute();
    return [...rows, ...this.unwrittenAfter(app, Math.max(seq, rows.at(-1)?.seq ?? 0), process)].slice(0, limit);
  }

  /** Lines not yet committed (a commit may have landed meanwhile: those are skipped by seq). */
  private unwrittenAfter(app: string, seq: number, process?: string): StoredLine[] {
    return this.unwritten.filter((l) => l.app === app && l.seq > seq && (!process || l.process === process));
  }

  private notify(): void {
    const lines = this.toNotify;
    this.toNotify = [];
    for (const l of this.listeners) {
      try {
        l(lines);
      } catch (err) {
        this.log.warn({ err }, 'a log listener failed');
      }
    }
  }

  /** Writes what is pending; flushes never overlap. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    // The cursors as they stand now cover exactly the lines taken: later lines go to the next batch.
    const covered = new Map<string, Cursor>();
    for (const l of batch) {
      const c = this.cursors.get(l.container);
      if (c && !covered.has(l.container)) covered.set(l.container, { ...c });
    }
    this.flushing = this.flushing.then(() => this.write(batch, covered)).catch((err: unknown) => {
      this.log.error({ err, lines: batch.length }, 'storing app log lines failed; they are lost');
    }).finally(() => {
      // Flushes run in order and take the oldest unwritten lines: this batch is the head.
      this.unwritten.splice(0, batch.length);
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.listeners.clear();
    this.signalClosed();
  }

  private async write(batch: StoredLine[], covered: Map<string, Cursor>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // An app destroyed meanwhile: its lines have nowhere to go (the foreign key would fail the batch).
      const names = [...new Set(batch.map((l) => l.app))];
      const existing = new Set((await trx.selectFrom('apps').select('name').where('name', 'in', names).execute()).map((r) => r.name));
      const rows: StoredLine[] = [];
      for (const app of existing) {
        // More lines than the buffer holds in one batch: the oldest would be trimmed right away.
        rows.push(...batch.filter((l) => l.app === app).slice(-this.opts.maxLines));
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx.insertInto('app_logs').values(rows.slice(i, i + INSERT_CHUNK)).execute();
      for (const app of existing) {
        const last = rows.filter((l) => l.app === app).at(-1)?.seq ?? 0;
        await trx.deleteFrom('app_logs').where('app', '=', app).where('seq', '<=', last - this.opts.maxLines).execute();
      }
      const cursorRows = [...covered].filter(([, c]) => existing.has(c.app))
        .map(([container, c]) => ({ container, app: c.app, last_ts: c.lastTs, same_ts: c.sameTs }));
      if (cursorRows.length) {
        await trx.insertInto('log_cursors').values(cursorRows)
          .onConflict((oc) => oc.column('container').doUpdateSet((eb) => ({ app: eb.ref('excluded.app'), last_ts: eb.ref('excluded.last_ts'), same_ts: eb.ref('excluded.same_ts') })))
          .execute();
      }
    });
  }
}
