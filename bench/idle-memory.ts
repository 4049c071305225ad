// Idle memory of `hiy server` next to a bare node process measured in the same run.
// Run: node dist/bench/idle-memory.js [idle seconds, default 10]
// Issue 2's target: hiy idles under 80 MB RSS. Exits 1 when above it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { apiClient, startHiy } from '../tests/helpers/server.js';

const TARGET_MB = 80;
const idleSeconds = Number(process.argv[2] ?? '10');

/** VmRSS / VmHWM of a process from /proc, in MB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function children(pid: number): { pid: number; name: string }[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      .map((p) => ({ pid: p, name: readFileSync(`/proc/${p}/comm`, 'utf8').trim() }));
  } catch {
    return [];
  }
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
const mb = (n: number) => n.toFixed(1);

async function main(): Promise<number> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const hiy = await startHiy();
  try {
    const pid = hiy.proc.pid;
    if (pid === undefined || bare.pid === undefined) throw new Error('no pid');
    process.stderr.write(`idling ${idleSeconds} s...\n`);
    await sleep(idleSeconds);
    const rows: [string, { rss: number; peak: number }][] = [['bare node', memory(bare.pid)], ['hiy server, idle after start', memory(pid)]];

    // What a working day touches: apps, env (age), tokens. Then idle again.
    const api = apiClient(hiy);
    await api('POST', '/apps', { name: 'bench' });
    await api('PATCH', '/apps/bench/env', { vars: { A: '1', B: '2' }, restart: false });
    await api('GET', '/apps/bench/env?reveal=true');
    await api('GET', '/apps');
    await api('POST', '/tokens', { name: 'bench' });
    await sleep(Math.min(idleSeconds, 5));
    rows.push(['hiy server, idle after API use', memory(pid)]);
    for (const c of children(pid)) rows.push([`  child ${c.name} (${c.pid}), not counted`, memory(c.pid)]);

    const hiyIdle = rows[1]![1].rss;
    const hiyUsed = rows[2]![1].rss;
    const bareRss = rows[0]![1].rss;
    const width = Math.max(...rows.map(([n]) => n.length));
    const lines = [
      `${'process'.padEnd(width)}  ${'RSS MB'.padStart(7)}  ${'peak MB'.padStart(7)}`,
      ...rows.map(([n, m]) => `${n.padEnd(width)}  ${mb(m.rss).padStart(7)}  ${mb(m.peak).padStart(7)}`),
      '',
      `hiy / bare node: ${(hiyIdle / bareRss).toFixed(2)}x idle, ${(hiyUsed / bareRss).toFixed(2)}x after use; hiy above bare node: ${mb(hiyUsed - bareRss)} MB`,
      `target: hiy < ${TARGET_MB} MB: ${Math.max(hiyIdle, hiyUsed) < TARGET_MB ? 'met' : 'NOT met'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return Math.max(hiyIdle, hiyUsed) < TARGET_MB ? 0 : 1;
  } finally {
    bare.kill('SIGKILL');
    await hiy.stop();
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`idle-memory: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
