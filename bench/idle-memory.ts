// Idle memory of `hiy server` next to a bare node process measured in the same run.
// Run: node dist/bench/idle-memory.js [idle seconds, default 10]
// RSS is the median of per-second samples while idle; peak is VmHWM.
// Issue 2's target: hiy idles under 80 MB RSS. Exits 1 when a row run as in production is above it.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { apiClient, startHiy, type HiyOptions, type HiyProcess } from '../harness/server.js';

const TARGET_MB = 80;
const idleSeconds = Number(process.argv[2] ?? '10');
// Young-generation size is the largest lever found here; V8 takes it only on the command line.
const SMALL_HEAP = '--max-semi-space-size=1';

interface Mem { rss: number; peak: number }
interface Row { name: string; mem: Mem; counts: boolean }

/** VmRSS / VmHWM of a process from /proc, in MB. */
function memory(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Processes hiy started (a Caddy child): shown, not counted as hiy. */
function children(pid: number): Row[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      .map((p) => ({ name: `  child: ${readFileSync(`/proc/${p}/comm`, 'utf8').trim()}`, mem: memory(p), counts: false }));
  } catch {
    return [];
  }
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
const mb = (n: number) => n.toFixed(1);

/** RSS moves by several MB with GC timing: report the median of one sample a second over the idle time. */
async function idle(h: HiyProcess, name: string, counts = true): Promise<Row[]> {
  const samples: number[] = [];
  for (let i = 0; i < idleSeconds; i++) {
    await sleep(1);
    samples.push(memory(h.proc.pid!).rss);
  }
  samples.sort((a, b) => a - b);
  const mem = { rss: samples[Math.floor(samples.length / 2)] ?? NaN, peak: memory(h.proc.pid!).peak };
  return [{ name, mem, counts }, ...children(h.proc.pid!)];
}

async function withServer<T>(opts: HiyOptions, fn: (h: HiyProcess) => Promise<T>): Promise<T> {
  const h = await startHiy({ ...opts, keepDataDir: true });
  try {
    return await fn(h);
  } finally {
    await h.stop();
  }
}

async function main(): Promise<number> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const rows: Row[] = [];
  let dataDir = '';
  try {
    process.stderr.write(`4 server runs, ${idleSeconds} s idle each...\n`);
    // As hiy.service, install.sh and `npm start` run it: with the production node flag.
    const prod = { NODE_OPTIONS: SMALL_HEAP };
    await withServer({ env: prod }, async (h) => {
      dataDir = h.dataDir;
      rows.push({ name: 'bare node', mem: memory(bare.pid!), counts: false });
      rows.push(...await idle(h, 'hiy, first start (empty data dir)'));
      // What a working day touches: apps, env (age), tokens, deploy listings.
      const api = apiClient(h);
      await api('POST', '/apps', { name: 'bench' });
      await api('PATCH', '/apps/bench/env', { vars: { A: '1', B: '2' }, restart: false });
      await api('GET', '/apps/bench/env?reveal=true');
      await api('GET', '/apps/bench/deploys');
      await api('POST', '/tokens', { name: 'bench' });
      rows.push(...await idle(h, 'hiy, after API use'));
    });
    // Start-up reconciliation with an app present also loads the Docker client.
    await withServer({ dataDir, env: prod }, async (h) => { rows.push(...await idle(h, 'hiy, restarted with 1 app (no release yet)')); });
    await withServer({ dataDir }, async (h) => {
      rows.push(...await idle(h, 'hiy, same, default node flags', false));
    });
  } finally {
    bare.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }

  const bareRss = rows[0]!.mem.rss;
  const width = Math.max(...rows.map((r) => r.name.length));
  const worst = Math.max(...rows.filter((r) => r.counts).map((r) => r.mem.rss));
  const lines = [
    `${'process'.padEnd(width)}  ${'RSS MB'.padStart(7)}  ${'peak MB'.padStart(7)}  ${'x bare'.padStart(6)}`,
    ...rows.map((r) => `${r.name.padEnd(width)}  ${mb(r.mem.rss).padStart(7)}  ${mb(r.mem.peak).padStart(7)}  ${(r.mem.rss / bareRss).toFixed(2).padStart(6)}`),
    '',
    'Apps with releases also load the Docker client and follow their logs: bench/logs-metrics measures 15 running apps.',
    `target: hiy < ${TARGET_MB} MB RSS as it is run (node ${SMALL_HEAP}): ${worst < TARGET_MB ? 'met' : 'NOT met'} (worst ${mb(worst)} MB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return worst < TARGET_MB ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`idle-memory: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
