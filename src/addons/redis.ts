/**
 * The official redis image's documented contract (hub.docker.com/_/redis), as hiy uses it:
 * `redis-server` with its arguments (a config file as the first one), data in /data (the working
 * directory), the `redis` user uid/gid 999, `redis-cli` in the image. The password is
 * `requirepass`: written to a 0600 config file on a tmpfs by the image's /bin/sh (printf is a
 * shell builtin), so it never appears in a process's arguments; REDISCLI_AUTH (redis-cli's
 * documented variable) carries it to the server's own redis-cli for dumps and checks.
 */
import type { KindContract } from './kind.js';

const START = 'umask 077 && printf "requirepass %s\\n" "$REDISCLI_AUTH" > /tmp/redis.conf && exec redis-server /tmp/redis.conf "$@"';

export const REDIS: KindContract = {
  kind: 'redis',
  label: 'Redis',
  defaultAs: 'REDIS',
  port: 6379,
  user: '999:999',
  dataPath: '/data',
  tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=1m,uid=999,gid=999,mode=0700' },
  defaultMemoryMb: 64,
  minMemoryMb: 32,
  pidsLimit: 64,
  stopTimeoutSec: 60,
  env: (_addon, password) => ({ REDISCLI_AUTH: password }),
  // The append-only file (fsync every second) keeps every write across restarts and crashes; no
  // RDB snapshots besides it (fewer writes to an SD card). maxmemory is half the limit: the rest
  // is room for the copy-on-write fork of AOF rewrites and dumps. Writes past it are refused
  // (noeviction): a data store does not drop keys on its own.
  cmd: (memoryMb) => [
    'sh', '-c', START, 'redis-server',
    '--dir', '/data',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--maxmemory', `${Math.floor(memoryMb / 2)}mb`,
    '--maxmemory-policy', 'noeviction',
    // A dump (redis-cli --rdb) is a replica's sync: without this the server first waits 5 s for
    // more replicas to share the snapshot, and an add-on never has any.
    '--repl-diskless-sync-delay', '0',
  ],
  url: (addon, password) => `redis://:${encodeURIComponent(password)}@${addon}:6379`,
  database: () => null,
  dbUser: null,
  readyCmd: ['redis-cli', '--no-raw', 'ping'],
  isReady: (out) => out.exitCode === 0 && out.stdout.trim() === 'PONG',
  versionCmd: ['redis-server', '--version'],
  parseVersion: (out) => /v=(\d+\.\d+(?:\.\d+)*)/.exec(out)?.[1],
  // A diskless snapshot over the replication protocol: consistent while apps write.
  dumpCmd: () => ['redis-cli', '--rdb', '-'],
  dumpMagic: 'REDIS',
  dumpExt: 'rdb',
};

/** The restore's staging folder in the volume, beside the live files. */
export const REDIS_RESTORE_DIR = '/data/.hiy-restore';

/**
 * Turns a checked RDB in REDIS_RESTORE_DIR into the add-on's data while its own server is
 * stopped: a private server (unix socket on the tmpfs, no network) loads it, writes the
 * append-only files from it (CONFIG SET appendonly yes, as Redis's persistence docs switch from
 * RDB to AOF), and only then do the new files replace the old ones, by two renames. A failure
 * before that leaves the old data untouched. Fixed text: nothing of the user's reaches it.
 */
export const REDIS_CONVERT_SCRIPT = `set -e
cd ${REDIS_RESTORE_DIR}
redis-check-rdb dump.rdb >/dev/null
redis-server --port 0 --unixsocket /tmp/restore.sock --unixsocketperm 700 --dir ${REDIS_RESTORE_DIR} --appendonly no --save '' &
pid=$!
cli() { redis-cli -s /tmp/restore.sock "$@"; }
until [ "$(cli ping 2>/dev/null)" = PONG ]; do kill -0 $pid; sleep 0.1; done
cli config set appendonly yes >/dev/null
until cli info persistence | tr -d '\\r' | grep -qx 'aof_rewrite_in_progress:0' && cli info persistence | tr -d '\\r' | grep -qx 'aof_rewrite_scheduled:0' && [ -s appendonlydir/appendonly.aof.manifest ]; do kill -0 $pid; sleep 0.1; done
cli info persistence | tr -d '\\r' | grep -qx 'aof_last_bgrewrite_status:ok'
echo "keys: $(cli dbsize)"
cli shutdown nosave >/dev/null 2>&1 || true
wait $pid || true
cd /data
rm -rf appendonlydir.old dump.rdb.old
if [ -e appendonlydir ]; then mv appendonlydir appendonlydir.old; fi
if [ -e dump.rdb ]; then mv dump.rdb dump.rdb.old; fi
mv ${REDIS_RESTORE_DIR}/appendonlydir appendonlydir
mv ${REDIS_RESTORE_DIR}/dump.rdb dump.rdb
rm -rf appendonlydir.old dump.rdb.old ${REDIS_RESTORE_DIR}
echo restored`;
