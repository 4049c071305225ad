// What log capture and metrics sampling cost hiy: 15 running apps, each writing a log line every
// 100 ms, next to an idle hiy (no apps) measured over the same window.
// Run: node dist/bench/logs-metrics.js [seconds, default 60]
// CPU % is of one core, from utime+stime in /proc/<pid>/stat over the window; RSS is the median
// (and max) of one VmRSS reading a second. Both servers run with the production flag
// --max-semi-space-size=1 (infra/hiy.service). Issue 7's target: < 100 MB RSS and < 3 % of one core.
// Exits 1 when the loaded hiy misses a target.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../harness/server.js';
import { remoteUrl, WorkingCopy } from '../harness/git.js';
import { repoRoot } from '../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../harness/docker.js';
import { ensureBusyboxImage } from '../harness/images.js';

const APPS = 15;
const seconds = Number(process.argv[2] ?? '60');
const TARGET_MB = 100;
const TARGET_CPU = 3;
const CLK_TCK = 100; // USER_HZ on Linux (getconf CLK_TCK)
const NODE_OPTIONS = '--max-semi-space-size=1';
const DOCKERFILE = 'FROM hiy-test/busybox:1\nCOPY www /www\n'
  + 'CMD ["sh", "-c", "(i=0; while :; do echo \\"$(date) request $i done in 12ms\\"; i=$((i+1)); sleep 0.1; done) & exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  // Fields after the command name (which may contain spaces): utime is field 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

interface Row { name: string; cpuPct: number; rssMedian: number; rssMax: number }

async function measure(procs: { name: string; h: HiyProcess }[]): Promise<Row[]> {
  const start = procs.map((p) => cpuTicks(p.h.proc.pid!));
  const rss: number[][] = procs.map(() => []);
  const t0 = Date.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    procs.forEach((p, k) => rss[k]!.push(rssMb(p.h.proc.pid!)));
  }
  const wall = (Date.now() - t0) / 1000;
  return procs.map((p, k) => {
    const sorted = [...rss[k]!].sort((a, b) => a - b);
    return {
      name: p.name,
      cpuPct: (100 * (cpuTicks(p.h.proc.pid!) - start[k]!)) / CLK_TCK / wall,
      rssMedian: sorted[Math.floor(sorted.length / 2)] ?? NaN,
      rssMax: sorted.at(-1) ?? NaN,
    };
  });
}

async function lastIds(h: HiyProcess, apps: string[]): Promise<number[]> {
  const api = apiClient(h);
  return Promise.all(apps.map(async (a) => ((await api('GET', `/apps/${a}/logs?lines=1`)).body.lines?.[0]?.id as number | undefined) ?? 0));
}

async function main(): Promise<number> {
  await ensureDocker();
  await ensureBusyboxImage();
  const apps = Array.from({ length: APPS }, (_, i) => `bench-logs-${process.pid}-${i}`);
  let idle: HiyProcess | undefined;
  let loaded: HiyProcess | undefined;
  const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  try {
    idle = await startHiy({ env: { NODE_OPTIONS } });
    // Slot ports below the ephemeral range (32768+), where the servers' own random ports live.
    loaded = await startHiy({ env: { NODE_OPTIONS, HIY_SLOT_PORT_BASE: String(22000 + Math.floor(Math.random() * 100) * 100) } });
    wc.write('Dockerfile', DOCKERFILE);
    await wc.commit('logger');
    const api = apiClient(loaded);
    process.stderr.write(`deploying ${APPS} apps...\n`);
    for (const app of apps) {
      const created = await api('POST', '/apps', { name: app, port: 8080, memory_mb: 32, cpus: 0.1 });
      if (created.status !== 201) throw new Error(`creating ${app}: ${JSON.stringify(created.body)}`);
      // On a shared engine other runs' networks can use up Docker's address pools for a while.
      for (let attempt = 1; ; attempt++) {
        const pushed = await wc.push(remoteUrl(loaded.url, app, loaded.token));
        if (pushed.code === 0) break;
        if (attempt >= 20 || !/address pool/.test(pushed.stderr)) throw new Error(`deploying ${app}: ${pushed.stderr}`);
        process.stderr.write(`no free network address pool for ${app}; retrying in 10 s\n`);
        await sleep(10_000);
      }
    }
    await sleep(10_000); // capture catches up with what was written during the deploys
    process.stderr.write(`measuring for ${seconds} s...\n`);
    const before = await lastIds(loaded, apps);
    const rows = await measure([{ name: 'hiy, idle (no apps)', h: idle }, { name: `hiy, ${APPS} apps logging every 100 ms`, h: loaded }]);
    const after = await lastIds(loaded, apps);
    const stored = after.reduce((a, b, i) => a + b - before[i]!, 0);
    const expected = (APPS * seconds * 1000) / 100;
    const sys = (await api('GET', '/system')).body as { apps: { cpu_pct: number }[] };

    const width = Math.max(...rows.map((r) => r.name.length));
    const worst = rows[1]!;
    const ok = worst.rssMedian < TARGET_MB && worst.cpuPct < TARGET_CPU;
    process.stdout.write([
      `${'process'.padEnd(width)}  ${'CPU % of a core'.padStart(15)}  ${'RSS MB (median)'.padStart(15)}  ${'RSS MB (max)'.padStart(12)}`,
      ...rows.map((r) => `${r.name.padEnd(width)}  ${r.cpuPct.toFixed(2).padStart(15)}  ${r.rssMedian.toFixed(1).padStart(15)}  ${r.rssMax.toFixed(1).padStart(12)}`),
      '',
      `log lines stored in ${seconds} s: ${stored} (the apps wrote about ${expected}; the shell loop's sleep makes it a little less)`,
      `apps sampled by hiy: ${sys.apps.length}`,
      `target: loaded hiy < ${TARGET_MB} MB RSS and < ${TARGET_CPU} % of one core: ${ok ? 'met' : 'NOT met'}`,
      '',
    ].join('\n'));
    return ok ? 0 : 1;
  } finally {
    await idle?.stop();
    await loaded?.stop();
    wc.remove();
    for (const app of apps) await cleanupByLabel(`hiy.app=${app}`);
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`logs-metrics: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
