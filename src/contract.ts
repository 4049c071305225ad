/**
 * The REST API's answers (docs/api.md), as types: the server builds them (domain views and
 * routes are typed with them, so the compiler holds the server to them) and the CLI reads them.
 * Plain data; nothing here imports the server, so the CLI never depends on server code for its
 * types. Changing a field here changes the API.
 */

import type { Slot } from './slots.js';

export type DeployStatus = 'queued' | 'building' | 'success' | 'failed' | 'superseded';
/** Who asked for a deploy: `manual` for rows older than dashboard/api and for hiy's own restarts. */
export type DeployTrigger = 'git' | 'webhook' | 'manual' | 'cli' | 'rollback' | 'dashboard' | 'api';

/** A deploy in listings (GET …/deploys): everything but its log. */
export interface DeploySummary {
  id: number;
  app: string;
  sha: string;
  status: DeployStatus;
  triggered_by: DeployTrigger;
  error: string | null;
  /** Release this deploy rolls back to, for rollbacks. */
  rollback_to: number | null;
  /** The image an image deploy was asked to run (a reference, or "upload" for images:load); null for builds. */
  image_ref: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** One deploy (GET …/deploys/:id) with what the pusher saw, redacted. */
export interface DeployView extends DeploySummary {
  log: string;
}

/**
 * What an app is doing (GET /apps, /apps/:name), like Heroku's dyno states: `running` (a web
 * container runs), `crashed` (its web container restarts or died, or nothing runs after a failed
 * deploy), `deploying` (a deploy is queued or building), `stopped` (hiy ps:stop, or its web
 * container exited cleanly), `no_release` (nothing deployed yet), `unknown` (Docker did not answer).
 */
export type AppState = 'running' | 'crashed' | 'deploying' | 'stopped' | 'no_release' | 'unknown';

/** An app: its settings plus where it lives and what it runs (GET /apps, /apps/:name). */
export interface AppView {
  name: string;
  repo_url: string | null;
  branch: string;
  port: number;
  memory_mb: number;
  cpus: number;
  health_path: string;
  health_timeout_s: number;
  drain_s: number;
  dockerfile_path: string | null;
  build_images: Record<string, string>;
  volume_path: string | null;
  domain: string;
  url: string;
  git_remote: string;
  /** 'git', or 'image:<repository>': releases are pulled from a registry (docs/image-deploys.md). */
  source: string;
  /** With an image source: the tag `hiy deploy` and notifications follow. */
  image_tag: string | null;
  status: AppState;
  /** Why, in words ("restarted 3 times", "stopped by ps:stop", "the first deploy failed"); null when there is nothing to add. */
  status_note: string | null;
  /** Process types stopped by hiy ps:stop (web among them: Caddy shows a "stopped" page). */
  stopped: string[];
  /** hiy maintenance:on: Caddy answers a 503 maintenance page instead of the app. */
  maintenance: boolean;
  /** hiy update --node-label: labels a Swarm node must carry to run the app's processes ({}: any node). */
  node_labels: Record<string, string>;
  /** hiy update --spread / --no-spread: new processes start on the node with the fewest of the app's tasks (default true). */
  spread: boolean;
  current_release: { id: number; version: number; sha: string; image: string; image_ref: string | null; created_at: string } | null;
  last_deploy: Pick<DeploySummary, 'id' | 'status' | 'sha' | 'triggered_by' | 'created_at' | 'finished_at'> | null;
  created_at: string;
  updated_at: string;
}

/**
 * An app's placement as the engine sees it now (GET /apps/:name and PATCH answer it as
 * `placement` when the app has node labels or spread off; null otherwise).
 */
export interface PlacementView {
  /** false on one engine (no Swarm runtime): the setting is kept and shown but changes nothing. */
  applies: boolean;
  /** On a Swarm: the ready, active nodes that carry every label. */
  matching_nodes: string[];
  /** What to know, in words; null when all is well. */
  note: string | null;
}

/** A release: what one deploy put live (the releases table's row). */
export interface Release {
  id: number;
  app: string;
  /** Per-app release number (v1, v2, ...), as Heroku shows them. */
  version: number;
  deploy_id: number;
  /** The commit of a git build; for an image release the image's digest (sha256:…). */
  sha: string;
  image: string;
  /** The image reference an image release was pulled from (or "upload"); null for git builds. */
  image_ref: string | null;
  slot: Slot;
  /** The Procfile's process types as JSON ({} or null: the image's own command as web only). */
  processes: string | null;
  /** app.json's scheduled jobs as JSON (null or []: none). */
  cron: string | null;
  created_at: string;
}

/** A release in GET …/releases, the current one marked, its process types and jobs as JSON values. */
export interface ReleaseView extends Omit<Release, 'processes' | 'cron'> {
  /** The Procfile's process types ({} or null: the image's own command as web only). */
  processes: Record<string, string> | null;
  /** app.json's scheduled jobs (null or []: none). */
  cron: unknown[] | null;
  current: boolean;
}

/** GET …/releases/:version (hiy releases:info): the release and the deploy that made it. */
export interface ReleaseInfo {
  app: string;
  release: ReleaseView;
  deploy: Pick<DeploySummary, 'id' | 'status' | 'triggered_by' | 'created_at' | 'finished_at' | 'image_ref'> | null;
}

/** An API token; its value is in the create answer only. */
export interface TokenInfo {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** One container of an app (GET …/ps). */
export interface ProcessView {
  type: string;
  replica: number;
  container: string;
  state: string;
  running: boolean;
  release: number | null;
  port: number | null;
  started_at: string | null;
  restart_count: number;
}

/** GET …/ps: the containers, the current release's process types and the formation. */
export interface ProcessListing {
  app: string;
  release: number | null;
  /** The current release's Procfile types with their commands (web: null runs the image's own). */
  process_types: Record<string, string | null>;
  formation: Record<string, number>;
  processes: ProcessView[];
}

/** A line of app output (GET …/logs, one SSE event of …/logs/stream). */
export interface LogLineView {
  /** Per-app sequence number: the SSE event id, and what Last-Event-ID resumes after. */
  id: number;
  time: string;
  stream: 'stdout' | 'stderr';
  process: string;
  /** Release version (v3 → 3) of the container's deploy; null before the release was recorded or for a failed one. */
  release: number | null;
  deploy: number | null;
  container: string;
  text: string;
}

/** What to enter on GitHub (GET/POST …/webhook); the secret only in the answer that makes it. */
export interface WebhookView {
  configured: boolean;
  payload_url: string;
  content_type: string;
  events: string[];
  repo_url: string | null;
  branch: string;
  github_settings_url: string | null;
  repo_token: boolean;
  /** Apps whose source is an image: where signed notifications of new images go (POST), else null. */
  registry_url: string | null;
  /** Apps whose source is an image: the repository and tag notifications must name, else null. */
  image: string | null;
  secret?: string;
}

/** One GitHub delivery and what hiy did with it (GET …/webhook/deliveries). */
export interface DeliveryView {
  id: number;
  delivery_id: string | null;
  event: string | null;
  ref: string | null;
  after: string | null;
  received_at: string;
  outcome: string;
  deploy_id: number | null;
}

/** Part of the answer to a change a running release only sees after a restart (env vars, the volume). */
export interface RestartAnswer {
  restarted: boolean;
  deploy_id?: number;
}

/** A registry login without its secret (GET /registries). */
export interface RegistryLoginView {
  host: string;
  /** null: used by every app pulling from host; otherwise only by this app. */
  app: string | null;
  username: string;
  created_at: string;
  updated_at: string;
}
/** What a one-off container was started as: `hiy run`, a dashboard console, or a cron job. */
export type RunKind = 'run' | 'console' | 'cron';
/** tty: a terminal attached; pipe: input and output piped (no terminal); detached: nobody attached. */
export type RunMode = 'tty' | 'pipe' | 'detached';
/**
 * running; exited (exit_code says how); failed (it could not start: reason); interrupted (hiy
 * stopped or crashed meanwhile); skipped (a cron time while the job still ran, or at the run cap);
 * missed (cron times that passed while hiy was down: reason says how many).
 */
export type RunStatus = 'running' | 'exited' | 'failed' | 'interrupted' | 'skipped' | 'missed';

/** One run record (GET …/runs, …/cron/runs): the audit of who ran what, and cron history. */
export interface RunView {
  id: number;
  app: string;
  kind: RunKind;
  /** The process type it is labelled with (`run`, `--type`, or `cron`). */
  process: string;
  /** The cron job's id, for cron runs. */
  job: string | null;
  command: string;
  /** Who started it: `token <name>`, `dashboard`, or `cron`. */
  by: string;
  mode: RunMode;
  /** The release whose image it ran. */
  release: number | null;
  container: string | null;
  /** The time a cron run was due. */
  scheduled_at: string | null;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  /** 128 + the signal when killed (137: SIGKILL, also after a wall-clock limit). */
  exit_code: number | null;
  /** Why it ended or did not run, for humans (time limit, client gone, token revoked, skipped, …). */
  reason: string | null;
}

/** One run with the tail of its output (detached and cron runs only; redacted of env values). */
export interface RunDetail extends RunView {
  output: string | null;
}

/** A scheduled job of the current release (GET …/cron). */
export interface CronJobView {
  id: string;
  command: string;
  schedule: string;
  concurrency: 'forbid' | 'replace';
  maintenance: boolean;
  /** The next time it runs (null in maintenance or without a schedule ahead). */
  next_run: string | null;
  /** The run record of the run in progress, if any. */
  running: number | null;
  last: RunView | null;
}

/**
 * The run channel (`GET /api/v1/apps/:app/run` upgraded to a WebSocket; the dashboard console's
 * is the same protocol). Binary frames carry bytes, their first byte the stream: 0 the program's
 * input (client to server), 1 its stdout, 2 its stderr (server to client; with a TTY all is 1).
 * Text frames carry one JSON control message each.
 */
export const RUN_STREAM = { stdin: 0, stdout: 1, stderr: 2 } as const;

/** Client to server: the terminal's new size; no more input (end of file). */
export type RunClientMessage = { type: 'resize'; cols: number; rows: number } | { type: 'eof' };

/**
 * Server to client: the run started (its record and what it runs); it ended (the exit code, and
 * why when hiy ended it); it could not start or broke off (an API error's code and message).
 */
export type RunServerMessage =
  | { type: 'started'; run: number; container: string; release: number | null; tty: boolean }
  | { type: 'exit'; code: number; reason?: string }
  | { type: 'error'; code: string; message: string };

/** The two kinds of data service (src/addons). */
export type AddonKind = 'postgres' | 'redis';

/** An add-on attached to an app: the app gets `var` (`<as>_URL`). */
export interface AddonAttachmentView {
  app: string;
  as: string;
  var: string;
  created_at: string;
}

/**
 * running: its server answers; starting: its container runs, the server does not answer yet;
 * restarting: the engine is restarting it after a crash; stopped: its container is not running;
 * missing: it has no container; unknown: the engine could not be asked.
 */
export type AddonStatus = 'running' | 'starting' | 'restarting' | 'stopped' | 'missing' | 'unknown';

/** An add-on in listings (GET /addons). */
export interface AddonView {
  name: string;
  kind: AddonKind;
  image: string;
  /** The server's version as it last reported it (17.2, 7.4.1). */
  version: string | null;
  status: AddonStatus;
  memory_mb: number;
  /** Bytes its data takes on disk (its volume), when the server could be asked. */
  disk_bytes: number | null;
  /** Where attached apps reach it (their network only). */
  host: string;
  port: number;
  attachments: AddonAttachmentView[];
  created_at: string;
}

/** One add-on with its connection (GET /addons/:name); the URL is masked unless revealed. */
export interface AddonInfo extends AddonView {
  revealed: boolean;
  url: string;
  /** Postgres: the database and user the URL names. */
  database: string | null;
  user: string | null;
  /** Memory it uses now (its container's working set), when known. */
  memory_bytes: number | null;
  restart_count: number;
  started_at: string | null;
}

/** One engine of the box's Swarm (or the one engine, when there is no Swarm): `hiy nodes`. */
export interface NodeView {
  id: string;
  /** The node's hostname. */
  name: string;
  /** The address the node is reached at (what Swarm advertises; host-mode ports listen there). */
  address: string;
  /** ready | down | unknown | disconnected (Swarm's words); a box without Swarm is always ready. */
  state: string;
  /** active | pause | drain */
  availability: string;
  role: 'manager' | 'worker';
  /** The Swarm's leader, where hiy runs. */
  leader: boolean;
  cpus: number;
  memory_bytes: number;
  labels: Record<string, string>;
  /** Apps with a running container or task on this node. */
  apps: string[];
  engine_version: string;
  /**
   * CPU and memory in use now (the last metrics sample): this box's own figures without a Swarm,
   * each node's agent's on a Swarm (decision 50); null until a sample came (or a node is silent).
   */
  usage: NodeUsageView | null;
}

export interface NodeUsageView {
  /** Busy share of all the node's cores, 0-100. */
  cpu_pct: number;
  memory_used_bytes: number;
  memory_pct: number;
  sampled_at: string;
}

export interface NodesAnswer {
  /** inactive: one engine, no Swarm (the default); active: a Swarm whose manager hiy drives. */
  swarm: 'inactive' | 'active' | 'pending' | 'error' | 'locked';
  nodes: NodeView[];
}
