/**
 * `hiy backup` and `hiy restore`: like `hiy server`, local admin commands that work on the data
 * dir directly (HIY_* variables, as in /etc/hiy/hiy.env), not through the REST API.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandTable, Ctx } from '../command.js';
import { arg, stringFlag } from '../command.js';
import { CliError, UsageError } from '../errors.js';
import { parseEnvFile, type Config } from '../../config.js';
import { isHiyError } from '../../errors.js';

export const ENV_FILE = '/etc/hiy/hiy.env';


/**
 * `sudo hiy backup` runs without the server's environment: unless HIY_DATA_DIR is set (then the
 * environment is the whole configuration), the settings come from /etc/hiy/hiy.env (or
 * --env-file), with the environment's own HIY_* values winning.
 */
function effectiveEnv(ctx: Ctx): Ctx['env'] {
  const given = stringFlag(ctx, 'env-file');
  if (given === undefined && ctx.env.HIY_DATA_DIR) return ctx.env;
  const file = given ?? ENV_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (given === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return ctx.env;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return { ...parseEnvFile(text), ...ctx.env };
}

async function serverConfig(ctx: Ctx): Promise<Config> {
  const { loadConfig } = await import('../../config.js');
  try {
    return loadConfig(effectiveEnv(ctx));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const ENV_FILE_FLAG = { 'env-file': { type: 'string' as const, value: 'FILE', description: `HIY_* settings to use (default ${ENV_FILE} unless HIY_DATA_DIR is set)` } };

function toCli(err: unknown): Error {
  if (err instanceof UsageError || err instanceof CliError) return err;
  if (isHiyError(err) && err.code === 'config') return new UsageError(err.message);
  return new CliError((err as Error)?.message ?? String(err), { cause: err });
}

function readKeys(path: string, flag: string): { path: string; identities: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const ids = text.split('\n').map((l) => l.trim()).filter((l) => /^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(l));
  if (ids.length === 0) throw new CliError(`${flag} ${path} holds no age identity (a line starting with AGE-SECRET-KEY-1)`);
  return { path: resolve(path), identities: ids };
}

function readSigner(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new CliError(`--signer ${path}: neither ed25519:… nor a readable file (${(err as Error).message})`);
  }
}

export const opsCommands: CommandTable = {
  backup: {
    usage: '[--include-identity] [--env-file FILE]',
    summary: 'Back up the database, git repos and app volumes, encrypted (local admin command)',
    details: 'Runs on the server as root, with the same HIY_* settings as hiy server (/etc/hiy/hiy.env). Writes\n'
      + 'HIY_BACKUP_DIR/hiy-backup-<time>.tar.gz.age, encrypted to HIY_BACKUP_RECIPIENT; keeps\n'
      + 'HIY_BACKUP_KEEP_DAYS days (30); copies to HIY_BACKUP_RCLONE when set. See docs/backup.md.',
    flags: { 'include-identity': { type: 'boolean', description: 'also store the env var key (secrets/age-identity.txt) in the backup' }, ...ENV_FILE_FLAG },
    args: [0, 0],
    async run(ctx) {
      const cfg = await serverConfig(ctx);
      try {
        const { loadBackupConfig } = await import('../../ops/backup-config.js');
        const { runBackup } = await import('../../ops/backup.js');
        const bc = loadBackupConfig(effectiveEnv(ctx));
        const res = await runBackup(cfg, bc, (l) => { if (!ctx.json) ctx.out(`-----> ${l}\n`); }, { includeIdentity: ctx.flags['include-identity'] === true ? true : undefined });
        ctx.print({ file: res.file, bytes: res.bytes, signer: res.signer, manifest: res.manifest, removed: res.removed, notes: res.notes }, () => `Backup written: ${res.file}\nSigned with: ${res.signer}\n`);
        if (res.notes.length > 0) throw new CliError(`the backup was written, but: ${res.notes.join('; ')}`);
      } catch (err) {
        throw toCli(err);
      }
    },
  },

  restore: {
    usage: '<file> [--key FILE] [--identity FILE] [--signer KEY] [--unsigned] [--keep-instance] [--env-file FILE]',
    summary: 'Restore a backup into HIY_DATA_DIR of a stopped or fresh hiy (local admin command)',
    details: 'The file is decrypted and checked completely before the data dir is touched; what was\n'
      + 'there is moved to <data>/pre-restore-<time>/. --key: the age identity file whose public key\n'
      + 'is HIY_BACKUP_RECIPIENT. --identity: the old server\'s env var key (secrets/age-identity.txt),\n'
      + 'needed unless the backup includes it. One file holding both keys may be given to either.\n'
      + '--keep-instance: take over the backed-up server\'s containers (restore on the same box).\n'
      + 'The file\'s signature (<file>.sig) must verify with --signer (the ed25519:… key every hiy backup\n'
      + 'prints, or a file holding it) or this data dir\'s own signing key; --unsigned skips that check.',
    flags: {
      key: { type: 'string', value: 'FILE', description: 'age identity that opens the backup (private key of HIY_BACKUP_RECIPIENT)' },
      identity: { type: 'string', value: 'FILE', description: 'the env var key of the backed-up server (its secrets/age-identity.txt)' },
      'keep-instance': { type: 'boolean', description: 'restore the instance id too (same box: adopt its running containers)' },
      signer: { type: 'string', value: 'KEY', description: 'the backup signing key printed by hiy backup (ed25519:…), or a file holding it' },
      unsigned: { type: 'boolean', description: 'restore even when the signature is missing or does not verify (an old backup, a lost key)' },
      ...ENV_FILE_FLAG,
    },
    args: [1, 1],
    async run(ctx) {
      const cfg = await serverConfig(ctx);
      const keys = [];
      const key = stringFlag(ctx, 'key');
      const identity = stringFlag(ctx, 'identity');
      if (key !== undefined) keys.push(readKeys(key, '--key'));
      if (identity !== undefined) keys.push(readKeys(identity, '--identity'));
      try {
        const { runRestore } = await import('../../ops/restore.js');
        const signer = stringFlag(ctx, 'signer');
        const signers = signer === undefined ? [] : [signer.startsWith('ed25519:') ? signer : readSigner(signer)];
        const res = await runRestore(cfg, resolve(arg(ctx, 0)), { keys, signers, unsigned: ctx.flags.unsigned === true, keepInstance: ctx.flags['keep-instance'] === true }, (l) => { if (!ctx.json) ctx.out(`-----> ${l}\n`); });
        ctx.print(res, () => [
          `Restored ${res.manifest.apps.length} app(s) into ${cfg.dataDir}: ${res.manifest.apps.join(', ') || '-'}`,
          `Env var key: ${res.identity}.`,
          ...res.notes.map((n) => `Note: ${n}`),
          'Start hiy now (systemctl start hiy). Apps whose release images are not on this engine (a new box) need a',
          'rebuild: hiy deploy <app> for each.',
          '',
        ].join('\n'));
      } catch (err) {
        throw toCli(err);
      }
    },
  },
};
