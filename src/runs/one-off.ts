/**
 * One-off containers of an app's current release: `hiy run` (attached with a TTY or pipes, or
 * detached), dashboard console sessions and cron runs. Each gets what the release's processes get
 * (processes.ts oneOffSpec: image, env, limits, network, volume, hardening), is recorded in the
 * runs table from start to end (the audit), counts against the app's cap of concurrent one-offs,
 * may have a wall-clock limit, and is removed when it ends, however it ends.
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { getApp, type App } from '../apps/repo.js';
import { createRedactor } from '../build/redact.js';
import type { Config } from '../config.js';
import type { RunKind, RunMode } from '../contract.js';
import type { Database } from '../db/database.js';
import { currentPlan, type ReleasePlan } from '../deploy/plan.js';
import { oneOffSpec } from '../deploy/processes.js';
import { currentRelease, type Release } from '../deploy/releases.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AttachOptions, Runtime } from '../runtime/runtime.js';
import { PROCESS_TYPE_RE } from '../build/procfile.js';
import { containerCommand, displayCommand, validateArgv } from './command.js';
import { finishRun, insertRun, RUN_OUTPUT_TAIL } from './repo.js';

export interface RunsDeps {
  db: Kysely<Database>;
  secrets: SecretBox;
  config: Config;
  log: Logger;
  runtime(): Promise<Runtime>;
}

/** Who starts a run, as the audit names them. */
export interface Actor {
  /** `token <name>`, `dashboard` or `cron`. */
  by: string;
  tokenId: number | null;
}

export interface RunRequest {
  app: string;
  kind: RunKind;
  /** Label of the container and record: `run` by default, `--type`, `cron`. */
  process: string;
  actor: Actor;
  /** From the release's Procfile and what was asked to the container's command (command.ts). */
  command(plan: ReleasePlan): string[];
  /** What the audit shows as the command. */
  shown?: string;
  /** Wall-clock limit in seconds; default from the config (attached or detached), 0: none. */
  timeoutSec?: number;
  job?: string;
  scheduledAt?: string;
}

/** How a run ended: its exit code (-1: unknown) and, when hiy ended it, why. */
export interface RunEnd {
  code: number;
  reason?: string;
}

/** An attached run as a channel (the API's WebSocket, the dashboard console) relays it. */
export interface RunSession {
  id: number;
  container: string;
  release: number | null;
  tty: boolean;
  /** The program's output as OutputChunk objects (runtime.ts). */
  output: Readable;
  write(data: Buffer): void;
  endInput(): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Ends the run now (the person went away, their credential was revoked): killed, recorded with `reason`. */
  hangUp(reason: string): void;
  /** Settles once the container is gone and the record is finished. */
  ended: Promise<RunEnd>;
}

interface Active {
  app: string;
  job: string | undefined;
  kill(reason: string): void;
  ended: Promise<RunEnd>;
}

export class OneOffRuns {
  private readonly active = new Map<number, Active>();
  /** Places taken between the checks and the record's insert (ids are not known yet). */
  private readonly reserved = new Map<string, number>();
  private stopping = false;
  /** Apps being destroyed: nothing new starts for them (closeApp). */
  private readonly closing = new Set<string>();

  constructor(private readonly d: RunsDeps) {}

  /** One-off containers of the app running (or starting) now. */
  count(app: string): number {
    return [...this.active.values()].filter((a) => a.app === app).length + (this.reserved.get(app) ?? 0);
  }

  /**
   * Before an app's containers are removed (destroy): refuses new runs of it, waits for starts
   * already past their checks, then ends every run of it and waits (bounded) until they are gone.
   * Without this a cron time or a `hiy run` in the same moment could leave a container behind.
   * reopenApp undoes it (the destroy failed, or a new app takes the name).
   */
  async closeApp(app: string, reason: string): Promise<void> {
    this.closing.add(app);
    for (let i = 0; i < 600 && (this.reserved.get(app) ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const mine = [...this.active.values()].filter((a) => a.app === app);
    for (const a of mine) a.kill(reason);
    await Promise.race([Promise.allSettled(mine.map((a) => a.ended)), new Promise((r) => setTimeout(r, 15_000).unref())]);
  }

  reopenApp(app: string): void {
    this.closing.delete(app);
  }

  /** Ends run `id` now (killed, recorded with `reason`); false when it is not running here. */
  end(id: number, reason: string): boolean {
    const a = this.active.get(id);
    a?.kill(reason);
    return a !== undefined;
  }

  /** The run of a cron job in progress, if any. */
  runningJob(app: string, job: string): { id: number; kill(reason: string): void; ended: Promise<RunEnd> } | undefined {
    for (const [id, a] of this.active) if (a.app === app && a.job === job) return { id, kill: a.kill, ended: a.ended };
    return undefined;
  }

  /**
   * What a start checks first, without starting: the app, its current release, room under the
   * cap. A channel asks before it opens, so these are answered as HTTP errors.
   */
  async check(appName: string): Promise<{ app: App; release: Release }> {
    if (this.stopping) throw new HiyError('unavailable', 'hiy is shutting down');
    if (this.closing.has(appName)) throw new HiyError('conflict', `${appName} is being destroyed`);
    const app = await getApp(this.d.db, appName);
    const release = await currentRelease(this.d.db, app.name);
    if (!release) throw new HiyError('conflict', `${app.name} has no release yet: deploy it first (git push hiy main)`);
    const max = this.d.config.runs.maxPerApp;
    if (this.count(app.name) >= max) {
      throw new HiyError('conflict', `${app.name} already runs ${max} one-off container${max === 1 ? '' : 's'} (at most ${max} at once: HIY_RUN_LIMIT); try again when one has ended`, { status: 429 });
    }
    return { app, release };
  }

  /** Starts an attached run: the caller relays its input and output (`hiy run`, the console). */
  async attach(req: RunRequest, io: AttachOptions): Promise<RunSession> {
    const mode: RunMode = io.tty ? 'tty' : 'pipe';
    return this.start(req, mode, async (runtime, spec, id, timeoutSec) => {
      const proc = await runtime.runAttached(spec, io);
      let reason: string | undefined;
      const kill = (why: string) => {
        reason ??= why;
        void proc.kill().catch((err: unknown) => this.d.log.warn({ err, run: id }, 'could not kill a one-off container'));
      };
      const timer = timeoutSec > 0 ? setTimeout(() => kill(`stopped after ${timeoutSec} s (the wall-clock limit)`), timeoutSec * 1000) : undefined;
      const ended = proc.exited.then(async (code): Promise<RunEnd> => {
        clearTimeout(timer);
        await finishRun(this.d.db, id, { status: 'exited', exit_code: code < 0 ? null : code, reason: reason ?? null });
        return { code, ...(reason ? { reason } : {}) };
      });
      return {
        kill, ended,
        session: { output: proc.output, write: proc.write, endInput: proc.endInput, resize: proc.resize, hangUp: kill },
      };
    }).then(({ id, container, release, ended, session }) => ({ id, container, release, tty: io.tty, ended, ...session! }));
  }

  /** Starts a detached run (`hiy run --detach`, cron): its output tail is kept with its record. */
  async detached(req: RunRequest): Promise<{ id: number; ended: Promise<RunEnd> }> {
    const { id, ended } = await this.start(req, 'detached', async (runtime, spec, runId, timeoutSec, plan) => {
      const abort = new AbortController();
      let reason: string | undefined;
      const kill = (why: string) => { reason ??= why; abort.abort(); };
      const redact = createRedactor(Object.values(plan.env));
      let tail = '';
      const onLine = (line: string) => {
        tail += `${redact(line)}\n`;
        if (tail.length > RUN_OUTPUT_TAIL * 2) tail = tail.slice(-RUN_OUTPUT_TAIL);
      };
      const ended = runtime.runOnce(spec, { timeoutSec, onLine, signal: abort.signal }).then(
        async (res): Promise<RunEnd> => {
          if (res.timedOut) reason ??= `stopped after ${timeoutSec} s (the wall-clock limit)`;
          await finishRun(this.d.db, runId, { status: 'exited', exit_code: res.exitCode < 0 ? null : res.exitCode, reason: reason ?? null, output: tail.slice(-RUN_OUTPUT_TAIL) });
          return { code: res.exitCode, ...(reason ? { reason } : {}) };
        },
        async (err: unknown): Promise<RunEnd> => {
          const message = (err as Error).message ?? String(err);
          await finishRun(this.d.db, runId, { status: 'failed', reason: message, output: tail.slice(-RUN_OUTPUT_TAIL) });
          return { code: -1, reason: message };
        },
      );
      return { kill, ended };
    });
    return { id, ended };
  }

  /**
   * The common part: the app and its current release, the cap, the record, the container, the
   * bookkeeping until it ended. Errors before the container runs are thrown (and recorded when the
   * record exists), so the caller can answer them.
   */
  private async start<S>(
    req: RunRequest,
    mode: RunMode,
    launch: (runtime: Runtime, spec: ReturnType<typeof oneOffSpec>, id: number, timeoutSec: number, plan: ReleasePlan) => Promise<{ kill(reason: string): void; ended: Promise<RunEnd>; session?: S }>,
  ): Promise<{ id: number; container: string; release: number | null; ended: Promise<RunEnd>; session?: S }> {
    const { app, release } = await this.check(req.app);
    // Taken now, with no await since the check: concurrent requests cannot both pass it.
    this.reserved.set(app.name, (this.reserved.get(app.name) ?? 0) + 1);
    let id: number | undefined;
    try {
      const runtime = await this.d.runtime().catch((cause: unknown): never => { throw new HiyError('unavailable', 'Docker is not reachable', { cause }); });
      const plan = await currentPlan(this.d, app, release);
      const cmd = req.command(plan);
      id = await insertRun(this.d.db, {
        app: app.name, kind: req.kind, process: req.process, job: req.job ?? null, command: req.shown ?? displayCommand(cmd),
        by: req.actor.by, token_id: req.actor.tokenId, mode, release: release.version, container: null, scheduled_at: req.scheduledAt ?? null,
      });
      const spec = oneOffSpec(plan, { process: req.process, run: id }, cmd);
      await this.d.db.updateTable('runs').set({ container: spec.name }).where('id', '=', id).execute();
      const timeoutSec = req.timeoutSec ?? (mode === 'detached' ? this.d.config.runs.detachedTimeoutSec : this.d.config.runs.attachedTimeoutSec);
      const started = await launch(runtime, spec, id, timeoutSec, plan);
      const runId = id;
      const ended = started.ended.finally(() => this.active.delete(runId));
      this.active.set(id, { app: app.name, job: req.job, kill: started.kill, ended });
      if (this.stopping) started.kill('hiy shut down');
      else if (this.closing.has(app.name)) started.kill('the app was destroyed');
      this.d.log.info({ app: app.name, run: id, kind: req.kind, by: req.actor.by, mode, release: release.version }, 'one-off run started');
      void ended.then((end) => this.d.log.info({ app: app.name, run: runId, code: end.code, reason: end.reason }, 'one-off run ended'));
      return { id, container: spec.name, release: release.version, ended, ...(started.session ? { session: started.session } : {}) };
    } catch (err) {
      if (id !== undefined) await finishRun(this.d.db, id, { status: 'failed', reason: (err as Error).message }).catch(() => undefined);
      throw err;
    } finally {
      const n = (this.reserved.get(app.name) ?? 1) - 1;
      if (n > 0) this.reserved.set(app.name, n); else this.reserved.delete(app.name);
    }
  }

  /** At shutdown: every one-off container is killed and recorded; waits (bounded) until they are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.active.values()];
    for (const a of all) a.kill('hiy shut down');
    await Promise.race([Promise.allSettled(all.map((a) => a.ended)), new Promise((r) => setTimeout(r, 15_000).unref())]);
  }
}

/** A run of a typed command (hiy run, the console): argv as given, labelled `process`. */
export function typedRun(r: { app: string; kind: 'run' | 'console'; argv: string[]; process?: string; actor: Actor; timeoutSec?: number }): RunRequest {
  const argv = validateArgv(r.argv);
  const process = r.process ?? 'run';
  if (!PROCESS_TYPE_RE.test(process)) throw new HiyError('invalid_input', 'type must be lowercase letters, digits, "_" or "-" (at most 30), starting with a letter');
  return {
    app: r.app, kind: r.kind, process, actor: r.actor, ...(r.timeoutSec !== undefined ? { timeoutSec: r.timeoutSec } : {}),
    command: (plan) => containerCommand(argv, plan.release.processes),
    shown: displayCommand(argv),
  };
}
