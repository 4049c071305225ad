import { readdirSync, readFileSync } from 'node:fs';

/** Pids of processes whose command line mentions `needle` (a test's own temp data dir). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** SIGKILLs what a killed test server left behind (its child Caddy, hooks). */
export function killProcessesMentioning(needle: string): number {
  const pids = pidsMentioning(needle);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  return pids.length;
}
