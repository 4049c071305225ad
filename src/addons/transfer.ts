/**
 * Dumps and restores, streamed: a dump is what the server's own tool writes (pg_dump's custom
 * format, Redis's RDB), taken online; a restore is checked before it touches anything and never
 * leaves half of it behind (pg_restore in one transaction; Redis's files replaced only once the
 * new ones are complete).
 */
import { PassThrough, Readable, type Writable } from 'node:stream';
import { HiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { addonSpec, waitReady } from './containers.js';
import type { KindContract } from './kind.js';
import { kindOf } from './kinds.js';
import { pgRestoreCmd } from './postgres.js';
import { REDIS_CONVERT_SCRIPT, REDIS_RESTORE_DIR } from './redis.js';
import type { Addon } from './repo.js';

const DUMP_TIMEOUT_SEC = 6 * 3600;
const READY_TIMEOUT_SEC = 120;

const lastLines = (text: string, n = 6): string => text.trim().split('\n').slice(-n).join('\n');

/** Streams a consistent online dump of the add-on into `sink` (which the caller ends). */
export async function dumpAddon(runtime: Runtime, row: Pick<Addon, 'name' | 'kind'>, sink: Writable, signal?: AbortSignal): Promise<void> {
  const k = kindOf(row.kind);
  const res = await runtime.execAddon(row.name, { cmd: k.dumpCmd(row.name), stdout: sink, timeoutSec: DUMP_TIMEOUT_SEC, ...(signal ? { signal } : {}) });
  if (res.exitCode !== 0) throw new HiyError('internal', `${k.dumpCmd(row.name)[0]} failed for add-on ${row.name} (exit code ${res.exitCode}): ${lastLines(res.stderr) || 'no message'}`);
}

/** The first `n` bytes of a stream, and the whole stream again (those bytes included). */
export async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array>;
  const chunks: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.from(r.value);
    chunks.push(b);
    len += b.length;
  }
  const first = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { head: first.subarray(0, n), stream: Readable.from(rest(), { objectMode: false }) };
}

async function checked(k: KindContract, addon: string, src: Readable): Promise<Readable> {
  const { head, stream } = await peek(src, k.dumpMagic.length);
  if (head.toString('latin1') !== k.dumpMagic) {
    src.destroy();
    const what = k.kind === 'postgres' ? 'a pg_dump archive in custom format (pg_dump -Fc, what hiy addons:dump writes)' : 'a Redis RDB file (what hiy addons:dump writes)';
    throw new HiyError('invalid_input', head.length === 0 ? `the restore of ${addon} got no data; nothing was changed` : `this is not ${what}; nothing was changed`);
  }
  return stream;
}

export interface RestoreOutcome {
  addon: string;
  kind: string;
  detail: string;
}

/**
 * Replaces the add-on's data with a dump. Postgres: pg_restore --clean in one transaction, while
 * apps stay connected (objects not in the dump are kept). Redis: the file is written beside the
 * data and checked while the server runs; then the server stops for the swap and starts again.
 */
export async function restoreAddon(runtime: Runtime, row: Addon, source: Readable, log: (line: string) => void = () => undefined): Promise<RestoreOutcome> {
  const k = kindOf(row.kind);
  const stream = await checked(k, row.name, source);
  if (k.kind === 'postgres') {
    const res = await runtime.execAddon(row.name, { cmd: pgRestoreCmd(row.name), stdin: stream, timeoutSec: DUMP_TIMEOUT_SEC });
    if (res.exitCode !== 0) {
      throw new HiyError('invalid_input', `pg_restore failed (exit code ${res.exitCode}); it ran in one transaction, so ${row.name}'s data is as it was: ${lastLines(res.stderr) || 'no message'}`);
    }
    return { addon: row.name, kind: k.kind, detail: 'restored with pg_restore --clean in one transaction' };
  }
  return restoreRedis(runtime, row, k, stream, log);
}

async function restoreRedis(runtime: Runtime, row: Addon, k: KindContract, stream: Readable, log: (line: string) => void): Promise<RestoreOutcome> {
  const dir = REDIS_RESTORE_DIR;
  // Fixed commands: the staging folder's name is hiy's own, passed as an argument, never spliced in.
  const upload = await runtime.execAddon(row.name, { cmd: ['sh', '-c', 'rm -rf "$1" && mkdir -p "$1" && cat > "$1/dump.rdb"', 'sh', dir], stdin: stream, timeoutSec: DUMP_TIMEOUT_SEC });
  const clean = () => runtime.execAddon(row.name, { cmd: ['rm', '-rf', dir], timeoutSec: 60 }).catch(() => undefined);
  if (upload.exitCode !== 0) {
    await clean();
    throw new HiyError('internal', `writing the dump into ${row.name} failed: ${lastLines(upload.stderr) || `exit code ${upload.exitCode}`}`);
  }
  const check = await runtime.execAddon(row.name, { cmd: ['redis-check-rdb', `${dir}/dump.rdb`], timeoutSec: 600 });
  if (check.exitCode !== 0) {
    await clean();
    throw new HiyError('invalid_input', `the file is not a readable RDB (redis-check-rdb: ${lastLines(check.stdout + check.stderr, 3)}); nothing was changed`);
  }
  const c = await runtime.addonContainer(row.name);
  if (!c) throw new HiyError('unavailable', `add-on ${row.name} has no container`);
  log(`stopping ${row.name} to swap its files`);
  await runtime.stop(c.id, k.stopTimeoutSec);
  const lines: string[] = [];
  // The one-off gets no password: its private server has none, and redis-cli would send it.
  const spec = { ...addonSpec(row, ''), env: {}, cmd: ['sh', '-c', REDIS_CONVERT_SCRIPT] };
  let res: { exitCode: number; timedOut: boolean };
  try {
    res = await runtime.runAddonOnce(spec, { timeoutSec: DUMP_TIMEOUT_SEC, onLine: (l) => lines.push(l) });
  } finally {
    await runtime.start(c.id);
  }
  await waitReady(runtime, row.name, k, READY_TIMEOUT_SEC);
  if (res.exitCode !== 0 || !lines.includes('restored')) {
    await clean();
    throw new HiyError('internal', `restoring ${row.name} failed${res.timedOut ? ' (timed out)' : ''}; its data was left as it was: ${lastLines(lines.join('\n'))}`);
  }
  const keys = lines.find((l) => l.startsWith('keys: '))?.slice(6);
  return { addon: row.name, kind: k.kind, detail: `restored ${keys ?? 'the'} key(s) from the RDB file` };
}

export interface StartedDump {
  /** The dump as it is being written; it errors (is cut short) if the dump fails later. */
  stream: Readable;
  filename: string;
}

/**
 * Starts a dump for an HTTP answer: resolves once its first bytes are there, so a dump that fails
 * at once (a stopped server) becomes an error answer rather than a cut-off download.
 */
export async function startDump(runtime: Runtime, row: Pick<Addon, 'name' | 'kind'>, signal: AbortSignal, onFailure: (err: unknown) => void): Promise<StartedDump> {
  const c = await runtime.addonContainer(row.name);
  if (!c?.running) throw new HiyError('conflict', `${row.name} is not running, so it cannot be dumped now (hiy addons:restart ${row.name})`);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const done = dumpAddon(runtime, row, out, signal).then(() => { out.end(); }, (err: unknown) => {
    onFailure(err);
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  await Promise.race([new Promise((resolve) => out.once('readable', resolve)), done]);
  done.catch(() => undefined);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return { stream: out, filename: `${row.name}-${stamp}.${kindOf(row.kind).dumpExt}` };
}

/** The headers of a dump download. */
export const dumpHeaders = (filename: string): Record<string, string> => ({
  'content-type': 'application/octet-stream',
  'content-disposition': `attachment; filename="${filename}"`,
  'cache-control': 'no-store',
});
