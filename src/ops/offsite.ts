import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TIMEOUT_MS = 3 * 3600_000;

/**
 * Copies a finished backup to the rclone target and deletes the target's backups older than
 * `keepDays`. A missing rclone is a note, not a failure: the local backup is already good.
 * Returns notes for the operator.
 */
export async function copyOffsite(file: string, target: string, keepDays: number, log: (line: string) => void): Promise<string[]> {
  try {
    await run('rclone', ['version'], { timeout: 30_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return [`HIY_BACKUP_RCLONE is set but rclone is not installed (apt-get install rclone): ${basename(file)} was not copied off the box`];
    }
  }
  try {
    // The signature first: an off-site backup is never there without it.
    if (existsSync(`${file}.sig`)) await run('rclone', ['copy', '--', `${file}.sig`, target], { timeout: TIMEOUT_MS, maxBuffer: 4 << 20 });
    await run('rclone', ['copy', '--', file, target], { timeout: TIMEOUT_MS, maxBuffer: 4 << 20 });
    log(`copied ${basename(file)} to ${target} (rclone)`);
  } catch (err) {
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').slice(-3).join(' ');
    return [`rclone copy to ${target} failed: ${msg}`];
  }
  try {
    await run('rclone', ['delete', '--min-age', `${keepDays}d`, '--include', 'hiy-backup-*.tar.gz.age', '--include', 'hiy-backup-*.tar.gz.age.sig', '--', target], { timeout: TIMEOUT_MS, maxBuffer: 4 << 20 });
  } catch (err) {
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').slice(-3).join(' ');
    return [`rclone: old backups at ${target} could not be pruned: ${msg}`];
  }
  return [];
}
