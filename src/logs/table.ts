import type { Generated } from 'kysely';

/** One captured line of app output; `seq` counts per app and is the SSE event id. */
export interface AppLogsTable {
  id: Generated<number>;
  app: string;
  seq: number;
  /** Docker's timestamp of the line, normalised to RFC 3339 with 9 fraction digits (sortable as text). */
  ts: string;
  stream: 'stdout' | 'stderr';
  /** Procfile process type (label hiy.process). */
  process: string;
  /** Deploy that started the container (label hiy.deploy); the release is looked up from it. */
  deploy_id: number | null;
  /** Short container id. */
  container: string;
  line: string;
}

/** Where capture stopped reading each container, written with the lines it covers. */
export interface LogCursorsTable {
  container: string;
  app: string;
  last_ts: string;
  /** Lines stored with exactly last_ts: skipped when Docker hands them over again. */
  same_ts: number;
}
