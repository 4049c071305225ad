/**
 * `hiy pg:psql` and `hiy redis:cli`: an add-on's own client run inside the add-on's container
 * (Runtime.execAttached) and relayed over the run channel like `hiy run`. The client uses what the
 * container already has, so no password travels: psql connects on the unix socket the image
 * trusts inside the container (postgres.ts), redis-cli reads REDISCLI_AUTH from the container's
 * environment (redis.ts). Each session is in the runs audit as a console session of the app it
 * was reached through (or, given an add-on, of every app it is attached to).
 */
import type { Kysely } from 'kysely';
import { attachmentsOf, findAddon, type Addon } from '../addons/repo.js';
import { kindOf } from '../addons/kinds.js';
import { varOf } from '../addons/names.js';
import { findApp } from '../apps/repo.js';
import type { AddonKind } from '../contract.js';
import type { Database } from '../db/database.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AttachOptions, Runtime } from '../runtime/runtime.js';
import type { Actor, RunEnd, RunSession } from './one-off.js';
import { finishRun, insertRun } from './repo.js';

/** What each kind's client is called on the command line and what it runs in the container. */
export const CLIENTS: Record<AddonKind, { command: string; argv(addon: Addon, tty: boolean): string[]; env: Record<string, string> }> = {
  // The socket in /var/run/postgresql (the default): trusted inside the container, no password.
  // Piped SQL stops at the first error, so a failing script fails the command (psql's exit 3).
  postgres: {
    command: 'pg:psql',
    argv: (a, tty) => ['psql', '--username=postgres', `--dbname=${kindOf('postgres').database(a.name)}`, ...(tty ? [] : ['--set=ON_ERROR_STOP=1'])],
    // The root file system is read-only: the history goes to the container's tmpfs.
    env: { PSQL_HISTORY: '/tmp/.psql_history' },
  },
  // REDISCLI_AUTH is in the container's environment, which exec'd programs inherit.
  redis: { command: 'redis:cli', argv: () => ['redis-cli'], env: { REDISCLI_HISTFILE: '/tmp/.rediscli_history' } },
};

export interface ClientTarget {
  addon: Addon;
  /** Where the session is recorded: the app named, or the apps the add-on is attached to. */
  apps: string[];
}

/**
 * `target` is an add-on of `kind`, or an app with one add-on of that kind attached (Heroku's
 * `pg:psql <app>` opens the app's database); anything else is a clear error.
 */
export async function resolveClientTarget(db: Kysely<Database>, kind: AddonKind, target: string): Promise<ClientTarget> {
  const k = kindOf(kind);
  const cmd = CLIENTS[kind].command;
  const addon = await findAddon(db, target);
  if (addon) {
    if (addon.kind !== kind) throw new HiyError('invalid_input', `${addon.name} is a ${kindOf(addon.kind).label} add-on, not ${k.label}: hiy ${CLIENTS[addon.kind].command} ${addon.name} opens its client`);
    return { addon, apps: (await attachmentsOf(db, { addon: addon.name })).map((a) => a.app) };
  }
  const app = await findApp(db, target);
  if (!app) throw new HiyError('not_found', `there is no app or ${k.label} add-on named "${target}" (hiy addons lists the add-ons)`);
  const attached = await db.selectFrom('addon_attachments').innerJoin('addons', 'addons.name', 'addon_attachments.addon')
    .selectAll('addons').select('addon_attachments.as_name')
    .where('addon_attachments.app', '=', app.name).where('addons.kind', '=', kind).orderBy('addons.name').execute();
  if (attached.length === 0) {
    throw new HiyError('not_found', `${app.name} has no ${k.label} add-on attached (hiy addons:create ${kind} --app ${app.name} makes one)`);
  }
  if (attached.length > 1) {
    const list = attached.map((a) => `${a.name} (${varOf(a.as_name)})`).join(', ');
    throw new HiyError('conflict', `${app.name} has ${attached.length} ${k.label} add-ons attached: ${list}; name the one to open (hiy ${cmd} ${attached[0]!.name})`);
  }
  const { as_name: _as, ...row } = attached[0]!;
  return { addon: row, apps: [app.name] };
}

export interface AddonClientDeps {
  db: Kysely<Database>;
  log: Logger;
  runtime(): Promise<Runtime>;
}

/** The add-on client sessions open now: ended at shutdown, like one-off runs. */
export class AddonClients {
  private readonly active = new Set<(reason: string) => void>();
  private stopping = false;

  constructor(private readonly d: AddonClientDeps) {}

  /** Starts the client in the add-on's running container; the caller relays it (run-socket.ts). */
  async open(target: ClientTarget, actor: Actor, io: AttachOptions): Promise<RunSession> {
    if (this.stopping) throw new HiyError('unavailable', 'hiy is shutting down');
    const { addon } = target;
    const client = CLIENTS[addon.kind];
    const runtime = await this.d.runtime().catch((cause: unknown): never => { throw new HiyError('unavailable', 'Docker is not reachable', { cause }); });
    const c = await runtime.addonContainer(addon.name);
    if (!c?.running) throw new HiyError('unavailable', `add-on ${addon.name} is not running${c ? ` (${c.state})` : ''}: hiy addons:restart ${addon.name}`);
    const mode = io.tty ? 'tty' : 'pipe';
    const ids: number[] = [];
    for (const app of target.apps) {
      ids.push(await insertRun(this.d.db, {
        app, kind: 'console', process: client.command, job: null, command: `${client.command} ${addon.name}`,
        by: actor.by, token_id: actor.tokenId, mode, release: null, container: c.name, scheduled_at: null,
      }));
    }
    const record = (end: Parameters<typeof finishRun>[2]) => Promise.all(ids.map((id) => finishRun(this.d.db, id, end))).catch((err: unknown) => this.d.log.warn({ err }, 'could not record the end of an add-on client session'));
    let proc;
    try {
      proc = await runtime.execAttached(c.id, client.argv(addon, io.tty), { ...io, env: client.env, user: kindOf(addon.kind).user });
    } catch (err) {
      await record({ status: 'failed', reason: (err as Error).message });
      throw err;
    }
    let reason: string | undefined;
    const kill = (why: string) => {
      reason ??= why;
      void proc.kill().catch((err: unknown) => this.d.log.warn({ err, addon: addon.name }, 'could not end an add-on client'));
    };
    this.active.add(kill);
    this.d.log.info({ addon: addon.name, apps: target.apps, runs: ids, by: actor.by, mode }, 'add-on client session started');
    const ended = proc.exited.then(async (code): Promise<RunEnd> => {
      this.active.delete(kill);
      await record({ status: 'exited', exit_code: code < 0 ? null : code, reason: reason ?? null });
      this.d.log.info({ addon: addon.name, runs: ids, code, reason }, 'add-on client session ended');
      return { code, ...(reason ? { reason } : {}) };
    });
    if (this.stopping) kill('hiy shut down');
    return {
      id: ids[0] ?? 0, container: c.name, release: null, tty: io.tty,
      output: proc.output, write: proc.write, endInput: proc.endInput, resize: proc.resize, hangUp: kill, ended,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const kill of this.active) kill('hiy shut down');
  }
}

/** For the route: the target checked as a name before the database is asked. */
export function clientTargetName(raw: string | undefined): string {
  if (raw === undefined || !/^[a-z][a-z0-9-]{0,62}$/.test(raw)) throw new HiyError('invalid_name', `"${raw ?? ''}" is not an app or add-on name`);
  return raw;
}
