import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HiyError } from '../errors.js';

const LOCK = '.hiy-backup.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One backup at a time per backup dir (the timer and an operator may start one together). A lock
 * left by a killed run (its pid gone) is taken over. Resolves with the function that releases it.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = NaN;
      try { pid = Number(readFileSync(path, 'utf8').trim()); } catch { /* vanished meanwhile */ }
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new HiyError('conflict', `another backup is running (pid ${pid}, lock ${path})`);
      await rm(path, { force: true });
    }
  }
  throw new HiyError('conflict', `could not take the backup lock ${path}`);
}
