/**
 * Is a hiy server using this data dir? Restore must never pull the database from under a running
 * server. Two independent signs: a process holding the database file open (what a running hiy
 * always does), and anything answering on HIY_LISTEN.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { HostPort } from '../config.js';

/** Pids (other than ours) that hold one of `files` open, read from /proc (root sees all processes). */
export function pidsHolding(files: string[]): number[] {
  const wanted = new Set(files);
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  } catch {
    return out;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try { target = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      if (wanted.has(target)) { out.push(Number(pid)); break; }
    }
  }
  return out;
}

function answers(listen: HostPort, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: listen.host, port: listen.port, path: '/api/v1/health', method: 'GET' }, (res) => { res.resume(); resolve(true); });
    // A real timer: a half-open socket must not hang the check.
    const timer = setTimeout(() => { req.destroy(); resolve(false); }, timeoutMs);
    req.once('error', () => resolve(false));
    req.once('close', () => clearTimeout(timer));
    req.end();
  });
}

/** Why restoring into `dataDir` is unsafe right now, or undefined when nothing uses it. */
export async function runningServer(dataDir: string, listen: HostPort): Promise<string | undefined> {
  let dir = dataDir;
  try { dir = realpathSync(dataDir); } catch { /* does not exist yet: nothing holds it */ }
  const db = join(dir, 'hiy.db');
  const pids = pidsHolding([db, `${db}-wal`, `${db}-shm`]);
  if (pids.length > 0) return `a process (pid ${pids.join(', ')}) has ${db} open: stop hiy first (systemctl stop hiy, or kill the hiy server)`;
  if (await answers(listen)) return `something answers on HIY_LISTEN ${listen.host}:${listen.port} (a running hiy?): stop it first (systemctl stop hiy)`;
  return undefined;
}
