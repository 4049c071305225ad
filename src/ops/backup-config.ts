import { isAbsolute, resolve } from 'node:path';
import type { Env } from '../config.js';
import { HiyError } from '../errors.js';

/** What `hiy backup` reads besides the server's own config (HIY_BACKUP_*, see docs/backup.md). */
export interface BackupConfig {
  /** Where finished backups land (a USB drive, say); written atomically. */
  dir: string;
  /** age recipients (public keys, `age1…`) every backup is encrypted to. */
  recipients: string[];
  /** Backups older than this are deleted after a good new one is written (never the newest). */
  keepDays: number;
  /** `rclone copy` target (`remote:path` or a local path); unset = no off-site copy. */
  rclone: string | undefined;
  /** Put `<data>/secrets/age-identity.txt` into the backup too (off by default: see docs/backup.md). */
  includeIdentity: boolean;
}

export const DEFAULT_BACKUP_DIR = '/var/backups/hiy';

// An X25519 age recipient: "age1" + 58 bech32 characters.
const RECIPIENT_RE = /^age1[02-9ac-hj-np-z]{58}$/;

function fail(name: string, message: string): never {
  throw new HiyError('config', `${name}: ${message}`);
}

export function loadBackupConfig(env: Env): BackupConfig {
  const dirRaw = env.HIY_BACKUP_DIR || DEFAULT_BACKUP_DIR;
  if (!isAbsolute(dirRaw)) fail('HIY_BACKUP_DIR', `"${dirRaw}" is not an absolute path`);

  const recipients = (env.HIY_BACKUP_RECIPIENT ?? '').split(/[\s,]+/).filter(Boolean);
  for (const r of recipients) {
    if (!RECIPIENT_RE.test(r)) fail('HIY_BACKUP_RECIPIENT', `"${r.slice(0, 80)}" is not an age public key (age1…, as printed by age-keygen)`);
  }

  const keepRaw = env.HIY_BACKUP_KEEP_DAYS ?? '';
  let keepDays = 30;
  if (keepRaw !== '') {
    if (!/^\d+$/.test(keepRaw) || Number(keepRaw) < 1 || Number(keepRaw) > 3650) fail('HIY_BACKUP_KEEP_DAYS', `"${keepRaw}" is not a number of days (1-3650)`);
    keepDays = Number(keepRaw);
  }

  const rclone = env.HIY_BACKUP_RCLONE ? env.HIY_BACKUP_RCLONE : undefined;
  // The value becomes an argument of rclone: it must never be read as an option.
  if (rclone !== undefined && (rclone.startsWith('-') || !/^[\x21-\x7e]+$/.test(rclone) || rclone.length > 500)) {
    fail('HIY_BACKUP_RCLONE', 'must be an rclone target such as "remote:hiy-backups" or an absolute path (no spaces, not starting with "-")');
  }

  const inc = (env.HIY_BACKUP_INCLUDE_IDENTITY ?? '').toLowerCase();
  if (!['', '0', '1', 'true', 'false', 'yes', 'no'].includes(inc)) fail('HIY_BACKUP_INCLUDE_IDENTITY', `"${inc}" is not one of 1, 0, true, false`);

  return { dir: resolve(dirRaw), recipients, keepDays, rclone, includeIdentity: ['1', 'true', 'yes'].includes(inc) };
}

export function requireRecipients(c: BackupConfig): void {
  if (c.recipients.length > 0) return;
  throw new HiyError('config', 'HIY_BACKUP_RECIPIENT is not set: backups are always encrypted. Make a key pair on another machine '
    + '(age-keygen -o hiy-backup-key.txt; Debian package "age"), keep that file safe and off this box, and put the public key it '
    + 'prints (age1…) into HIY_BACKUP_RECIPIENT in /etc/hiy/hiy.env');
}
