/**
 * The official postgres image's documented contract (hub.docker.com/_/postgres), as hiy uses it:
 * POSTGRES_PASSWORD / POSTGRES_USER / POSTGRES_DB and PGDATA; initdb runs on the first start when
 * PGDATA is empty; `-c name=value` arguments set server options; the `postgres` user is uid/gid
 * 999; local connections on the unix socket in /var/run/postgresql are trusted inside the
 * container (so dumps need no password), TCP connections need the password.
 */
import type { KindContract } from './kind.js';

const MB = (n: number) => `${Math.max(1, Math.floor(n))}MB`;
const dbName = (addon: string) => addon.replace(/-/g, '_');

export const POSTGRES: KindContract = {
  kind: 'postgres',
  label: 'PostgreSQL',
  defaultAs: 'DATABASE',
  port: 5432,
  user: '999:999',
  dataPath: '/var/lib/postgresql/data',
  tmpfs: {
    '/var/run/postgresql': 'rw,nosuid,nodev,noexec,size=1m,uid=999,gid=999,mode=2775',
    '/tmp': 'rw,nosuid,nodev,noexec,size=32m,uid=999,gid=999,mode=1777',
  },
  defaultMemoryMb: 256,
  minMemoryMb: 128,
  // One process per connection plus about ten of its own, and dumps run beside them.
  pidsLimit: 256,
  stopTimeoutSec: 60,
  env: (addon, password) => ({ POSTGRES_PASSWORD: password, POSTGRES_USER: 'postgres', POSTGRES_DB: dbName(addon), PGDATA: '/var/lib/postgresql/data' }),
  // Sized for a Pi: shared buffers an eighth of the limit, per-sort memory a sixty-fourth, few
  // parallel workers, no JIT; connections grow with the limit (20 at 160 MB, 32 at 256 MB).
  cmd: (memoryMb) => [
    'postgres',
    '-c', `shared_buffers=${MB(Math.max(16, memoryMb / 8))}`,
    '-c', `effective_cache_size=${MB(memoryMb / 2)}`,
    '-c', `work_mem=${MB(memoryMb / 64)}`,
    '-c', `maintenance_work_mem=${MB(Math.max(8, memoryMb / 16))}`,
    '-c', `max_connections=${Math.min(200, Math.max(20, Math.floor(memoryMb / 8)))}`,
    '-c', 'max_worker_processes=4',
    '-c', 'max_parallel_workers=2',
    '-c', 'max_parallel_workers_per_gather=1',
    '-c', 'max_parallel_maintenance_workers=1',
    '-c', 'max_wal_size=256MB',
    '-c', 'min_wal_size=32MB',
    '-c', 'jit=off',
    '-c', 'huge_pages=off',
  ],
  url: (addon, password) => `postgres://postgres:${encodeURIComponent(password)}@${addon}:5432/${dbName(addon)}`,
  database: dbName,
  dbUser: 'postgres',
  // Over TCP: while initdb runs, the image's temporary server listens on the socket only.
  readyCmd: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432'],
  isReady: (out) => out.exitCode === 0,
  versionCmd: ['postgres', '--version'],
  parseVersion: (out) => /\(PostgreSQL\)\s+(\d+(?:\.\d+)*)/.exec(out)?.[1],
  dumpCmd: (addon) => ['pg_dump', '--format=custom', '--no-password', '--username=postgres', `--dbname=${dbName(addon)}`],
  dumpMagic: 'PGDMP',
  dumpExt: 'pgdump',
};

/** The major version of the data files (PGDATA/PG_VERSION): what a new server must match. */
export const PG_DATA_VERSION_CMD = ['cat', '/var/lib/postgresql/data/PG_VERSION'];

/** Replaces what the dump holds, in one transaction: a failure leaves the data as it was. */
export const pgRestoreCmd = (addon: string): string[] => [
  'pg_restore', '--clean', '--if-exists', '--no-owner', '--single-transaction', '--no-password', '--username=postgres', `--dbname=${dbName(addon)}`,
];
