// Add-ons next to the same servers run bare, in the same run: idle memory of a Postgres and a
// Redis add-on made by hiy (its hardening and Pi tuning) against `docker run` of the same image
// with the image's defaults, and the time to dump and restore 100k rows (keys) each way: through
// hiy's API (streamed, as `hiy addons:dump` / `addons:restore` do) and with the server's own
// tools through `docker exec` (the floor).
// Run: node dist/bench/addons.js [idle seconds, default 20] [rows, default 100000]
// Needs the images HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS name (default postgres:17-bookworm,
// redis:7-bookworm) on the engine: pulled where a registry answers; here, the stand-ins the tests
// build (node scripts/run-tests.mjs addon-images).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cleanupByLabel, docker, ensureDocker, testRun } from '../harness/docker.js';
import { startHiy, type HiyProcess } from '../harness/server.js';

const idleSeconds = Number(process.argv[2] ?? '20');
const ROWS = Number(process.argv[3] ?? '100000');
const PG_IMAGE = process.env.HIY_IMAGE_POSTGRES ?? 'postgres:17-bookworm';
const REDIS_IMAGE = process.env.HIY_IMAGE_REDIS ?? 'redis:7-bookworm';
const run = testRun();
const id = randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labelArgs = Object.entries(run.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

interface Mem { pssMb: number; rssMb: number; cgroupMb: number }
interface Row { what: string; hiy: string; bare: string }

async function must(args: string[], what: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await docker(args, opts);
  if (r.code !== 0) throw new Error(`${what}: docker ${args.slice(0, 3).join(' ')} … failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `docker <args>` with stdin from a file or stdout to a file (dumps and restores of the bare servers). */
function dockerFile(args: string[], io: { stdin?: string; stdout?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const inFd = io.stdin ? openSync(io.stdin, 'r') : 'ignore';
    const outFd = io.stdout ? openSync(io.stdout, 'w') : 'ignore';
    const p = spawn('docker', args, { stdio: [inFd, outFd, 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (typeof inFd === 'number') closeSync(inFd);
      if (typeof outFd === 'number') closeSync(outFd);
      if (code !== 0) process.stderr.write(err);
      resolve(code ?? -1);
    });
  });
}

/** `docker exec -i <c> <cmd>` fed with `input`. */
function execWithInput(container: string, cmd: string[], input: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['exec', '-i', container, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd.join(' ')} in ${container}: exit ${code}`))));
    p.stderr.resume();
    p.stdin.end(input);
  });
}

/** The container's processes (host pids) from `docker top`. */
async function pidsOf(container: string): Promise<number[]> {
  return (await must(['top', container, '-eo', 'pid'], 'docker top')).split('\n').slice(1).map((l) => Number(l.trim())).filter((n) => n > 0);
}

/** PSS and RSS summed over the container's processes (PSS shares Postgres's shared memory fairly), and the cgroup's working set as `docker stats` shows it. */
async function memoryOf(container: string): Promise<Mem> {
  let pss = 0;
  let rss = 0;
  for (const pid of await pidsOf(container)) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
      rss += Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    } catch { /* gone meanwhile */ }
  }
  const usage = (await must(['stats', '--no-stream', '--format', '{{.MemUsage}}', container], 'docker stats')).trim().split('/')[0]!.trim();
  const m = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(usage);
  const unit: Record<string, number> = { B: 1 / 1048576, KiB: 1 / 1024, KB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return { pssMb: pss / 1024, rssMb: rss / 1024, cgroupMb: m ? Number(m[1]) * (unit[m[2]!] ?? NaN) : NaN };
}

/** The median of one sample a second over the idle time. */
async function idleMemory(container: string): Promise<Mem> {
  const samples: Mem[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(idleSeconds / 2)); i++) {
    samples.push(await memoryOf(container));
    await sleep(1000);
  }
  const med = (k: keyof Mem) => samples.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
  return { pssMb: med('pssMb'), rssMb: med('rssMb'), cgroupMb: med('cgroupMb') };
}

async function untilOk(what: string, fn: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(300);
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t0) / 1e9];
}

/** hiy's API with a long timeout (creating an add-on waits for its first start). */
async function api(h: HiyProcess, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${h.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${h.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(600_000),
  });
  const json = await res.json() as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function apiDump(h: HiyProcess, addon: string, file: string): Promise<void> {
  const res = await fetch(`${h.url}/api/v1/addons/${addon}/dump`, { headers: { authorization: `Bearer ${h.token}` }, signal: AbortSignal.timeout(600_000) });
  if (!res.ok || !res.body) throw new Error(`dump of ${addon}: ${res.status} ${await res.text()}`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(file));
}

async function apiRestore(h: HiyProcess, addon: string, file: string): Promise<void> {
  const res = await fetch(`${h.url}/api/v1/addons/${addon}/restore`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(createReadStream(file)) as unknown as BodyInit,
    duplex: 'half',
    signal: AbortSignal.timeout(600_000),
  } as RequestInit);
  if (!res.ok) throw new Error(`restore of ${addon}: ${res.status} ${await res.text()}`);
}

const pgFill = `CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL, n bigint NOT NULL); INSERT INTO items SELECT g, md5(g::text), g * 7 FROM generate_series(1, ${ROWS}) g;`;
const pgCount = async (c: string, db: string) => Number((await must(['exec', c, 'psql', '-U', 'postgres', '-d', db, '-tAc', 'SELECT count(*) FROM items'], 'count')).trim());
/** RESP for SET key:i value-i, fed to `redis-cli --pipe`. */
function redisFill(): Buffer {
  const parts: string[] = [];
  const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  for (let i = 1; i <= ROWS; i++) parts.push(`*3\r\n${bulk('SET')}${bulk(`key:${i}`)}${bulk(`value-${i}-${'x'.repeat(20)}`)}`);
  return Buffer.from(parts.join(''));
}
const redisCount = async (c: string) => Number((await must(['exec', c, 'redis-cli', 'dbsize'], 'dbsize')).trim());

const mb = (m: Mem) => `${m.pssMb.toFixed(1)} / ${m.rssMb.toFixed(1)} / ${m.cgroupMb.toFixed(1)}`;
const secs = (s: number, file: string) => `${s.toFixed(2)} s (${(statSync(file).size / 1048576).toFixed(1)} MB)`;

async function main(): Promise<void> {
  await ensureDocker();
  for (const image of [PG_IMAGE, REDIS_IMAGE]) {
    if ((await docker(['image', 'inspect', image])).code !== 0) throw new Error(`${image} is not on this engine: docker pull it, or build the test stand-ins (node scripts/run-tests.mjs addon-images)`);
  }
  const work = mkdtempSync(join(tmpdir(), 'hiy-bench-addons-'));
  const PG = `bench-${id}-pg`;
  const RD = `bench-${id}-kv`;
  const BARE_PG = `hiy-bench-${id}-pg`;
  const BARE_RD = `hiy-bench-${id}-kv`;
  let h: HiyProcess | undefined;
  const rows: Row[] = [];
  try {
    h = await startHiy({ startTimeoutMs: 60_000, env: { HIY_IMAGE_POSTGRES: PG_IMAGE, HIY_IMAGE_REDIS: REDIS_IMAGE } });
    const [pgInfo, pgCreate] = await timed(() => api(h!, 'POST', '/addons', { kind: 'postgres', name: PG }));
    const [rdInfo, rdCreate] = await timed(() => api(h!, 'POST', '/addons', { kind: 'redis', name: RD }));
    // Bare: the image's defaults, as its documentation starts it (root start, no limits, no tuning).
    const [, pgBareStart] = await timed(async () => {
      await must(['run', '-d', '--name', BARE_PG, ...labelArgs, '-e', 'POSTGRES_PASSWORD=bench', PG_IMAGE], 'bare postgres');
      await untilOk('bare postgres', async () => (await docker(['exec', BARE_PG, 'pg_isready', '-q', '-h', '127.0.0.1'])).code === 0);
    });
    const [, rdBareStart] = await timed(async () => {
      await must(['run', '-d', '--name', BARE_RD, ...labelArgs, REDIS_IMAGE], 'bare redis');
      await untilOk('bare redis', async () => (await docker(['exec', BARE_RD, 'redis-cli', 'ping'])).stdout.trim() === 'PONG');
    });
    rows.push({ what: 'postgres: create → accepts connections', hiy: `${pgCreate.toFixed(2)} s (${pgInfo.addon.version}, limit ${pgInfo.addon.memory_mb} MB)`, bare: `${pgBareStart.toFixed(2)} s (no limit)` });
    rows.push({ what: 'redis: create → accepts connections', hiy: `${rdCreate.toFixed(2)} s (${rdInfo.addon.version}, limit ${rdInfo.addon.memory_mb} MB)`, bare: `${rdBareStart.toFixed(2)} s (no limit)` });

    await sleep(idleSeconds * 500);
    const [pgIdle, pgBareIdle, rdIdle, rdBareIdle] = [await idleMemory(`hiy-addon.${PG}`), await idleMemory(BARE_PG), await idleMemory(`hiy-addon.${RD}`), await idleMemory(BARE_RD)];
    rows.push({ what: 'postgres idle memory, MB: PSS / RSS / cgroup', hiy: mb(pgIdle), bare: mb(pgBareIdle) });
    rows.push({ what: 'redis idle memory, MB: PSS / RSS / cgroup', hiy: mb(rdIdle), bare: mb(rdBareIdle) });

    // 100k rows in each Postgres, then dump and restore each way.
    const db = String(pgInfo.addon.database);
    await must(['exec', `hiy-addon.${PG}`, 'psql', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qc', pgFill], 'fill');
    await must(['exec', BARE_PG, 'psql', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', pgFill], 'fill bare');
    const pgFile = join(work, 'hiy.pgdump');
    const pgBareFile = join(work, 'bare.pgdump');
    const [, pgDump] = await timed(() => apiDump(h!, PG, pgFile));
    const [bareDumpCode, pgBareDump] = await timed(() => dockerFile(['exec', BARE_PG, 'pg_dump', '-Fc', '-U', 'postgres', 'postgres'], { stdout: pgBareFile }));
    if (bareDumpCode !== 0) throw new Error('bare pg_dump failed');
    await must(['exec', `hiy-addon.${PG}`, 'psql', '-U', 'postgres', '-d', db, '-qc', 'DELETE FROM items WHERE id % 2 = 0'], 'change');
    await must(['exec', BARE_PG, 'psql', '-U', 'postgres', '-d', 'postgres', '-qc', 'DELETE FROM items WHERE id % 2 = 0'], 'change bare');
    const [, pgRestore] = await timed(() => apiRestore(h!, PG, pgFile));
    const [bareRestoreCode, pgBareRestore] = await timed(() => dockerFile(['exec', '-i', BARE_PG, 'pg_restore', '--clean', '--if-exists', '--no-owner', '--single-transaction', '-U', 'postgres', '-d', 'postgres'], { stdin: pgBareFile }));
    if (bareRestoreCode !== 0) throw new Error('bare pg_restore failed');
    for (const [c, d] of [[`hiy-addon.${PG}`, db], [BARE_PG, 'postgres']] as const) {
      const n = await pgCount(c, d);
      if (n !== ROWS) throw new Error(`${c}: ${n} rows after the restore, not ${ROWS}`);
    }
    rows.push({ what: `postgres dump, ${ROWS} rows`, hiy: secs(pgDump, pgFile), bare: secs(pgBareDump, pgBareFile) });
    rows.push({ what: `postgres restore, ${ROWS} rows`, hiy: `${pgRestore.toFixed(2)} s`, bare: `${pgBareRestore.toFixed(2)} s` });

    // 100k keys in each Redis.
    const fill = redisFill();
    await execWithInput(`hiy-addon.${RD}`, ['redis-cli', '--pipe'], fill);
    await execWithInput(BARE_RD, ['redis-cli', '--pipe'], fill);
    const rdFile = join(work, 'hiy.rdb');
    const rdBareFile = join(work, 'bare.rdb');
    const [, rdDump] = await timed(() => apiDump(h!, RD, rdFile));
    const [rdBareCode, rdBareDump] = await timed(() => dockerFile(['exec', BARE_RD, 'redis-cli', '--rdb', '-'], { stdout: rdBareFile }));
    if (rdBareCode !== 0) throw new Error('bare redis-cli --rdb failed');
    await must(['exec', `hiy-addon.${RD}`, 'redis-cli', 'flushall'], 'flush');
    await must(['exec', BARE_RD, 'redis-cli', 'flushall'], 'flush bare');
    const [, rdRestore] = await timed(() => apiRestore(h!, RD, rdFile));
    // Bare, the documented way: the RDB file in /data while the server is stopped.
    const [, rdBareRestore] = await timed(async () => {
      await must(['stop', BARE_RD], 'stop');
      await must(['cp', rdBareFile, `${BARE_RD}:/data/dump.rdb`], 'cp');
      await must(['start', BARE_RD], 'start');
      await untilOk('bare redis', async () => (await docker(['exec', BARE_RD, 'redis-cli', 'ping'])).stdout.trim() === 'PONG');
    });
    for (const c of [`hiy-addon.${RD}`, BARE_RD]) {
      const n = await redisCount(c);
      if (n !== ROWS) throw new Error(`${c}: ${n} keys after the restore, not ${ROWS}`);
    }
    rows.push({ what: `redis dump, ${ROWS} keys`, hiy: secs(rdDump, rdFile), bare: secs(rdBareDump, rdBareFile) });
    rows.push({ what: `redis restore, ${ROWS} keys`, hiy: `${rdRestore.toFixed(2)} s`, bare: `${rdBareRestore.toFixed(2)} s (stop, docker cp, start)` });
    const [pgLoaded, rdLoaded] = [await memoryOf(`hiy-addon.${PG}`), await memoryOf(`hiy-addon.${RD}`)];
    const [pgBareLoaded, rdBareLoaded] = [await memoryOf(BARE_PG), await memoryOf(BARE_RD)];
    rows.push({ what: 'postgres memory after all that, MB', hiy: mb(pgLoaded), bare: mb(pgBareLoaded) });
    rows.push({ what: 'redis memory after all that, MB', hiy: mb(rdLoaded), bare: mb(rdBareLoaded) });

    const w = Math.max(...rows.map((r) => r.what.length));
    const wh = Math.max(...rows.map((r) => r.hiy.length), 'hiy add-on'.length);
    console.log(`images: ${PG_IMAGE}, ${REDIS_IMAGE}; idle ${idleSeconds} s (median of samples over the second half); ${new Date().toISOString()}`);
    console.log(`${''.padEnd(w)}  ${'hiy add-on'.padEnd(wh)}  bare docker run`);
    for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.hiy.padEnd(wh)}  ${r.bare}`);
    console.log('PSS shares memory between processes fairly (Postgres backends share shared_buffers); RSS counts it per process; cgroup = what `docker stats` shows and the limit counts.');
  } finally {
    if (h) {
      for (const a of [PG, RD]) await api(h, 'DELETE', `/addons/${a}`).catch(() => undefined);
      await h.stop();
    }
    await cleanupByLabel(run.label);
    for (const a of [PG, RD]) {
      await cleanupByLabel(`hiy.addon=${a}`);
      await docker(['volume', 'rm', '-f', `hiy-addon.${a}`]);
    }
    // The bare servers' anonymous volumes go with their containers (rm -v in cleanupByLabel).
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
