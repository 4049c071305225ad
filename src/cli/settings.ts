import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../config.js';
import { CliError } from './errors.js';

/** What `hiy login` saves. */
export interface Saved {
  url?: string;
  token?: string;
}

export function settingsFile(env: Env): string {
  if (!env.HOME) throw new CliError('HOME is not set: cannot find the saved login; set HIY_URL and HIY_TOKEN instead');
  return join(env.HOME, '.config', 'hiy', 'config.json');
}

export function readSaved(env: Env): Saved {
  const file = settingsFile(env);
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new CliError(`${file} is not valid JSON: run "hiy login" again`);
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  return {
    url: typeof o.url === 'string' ? o.url : undefined,
    token: typeof o.token === 'string' ? o.token : undefined,
  };
}

/** Writes the file 0600 in a 0700 folder, atomically: it holds a token. */
export function writeSaved(env: Env, saved: Saved): string {
  const file = settingsFile(env);
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

export function removeSaved(env: Env): boolean {
  const file = settingsFile(env);
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  return true;
}

/** HIY_URL / HIY_TOKEN win over what login saved, each on its own. */
export function resolveServer(env: Env): { url: string; token: string } {
  const fromEnv = { url: env.HIY_URL || undefined, token: env.HIY_TOKEN || undefined };
  const saved = fromEnv.url && fromEnv.token ? {} : readSaved(env);
  const url = fromEnv.url ?? saved.url;
  const token = fromEnv.token ?? saved.token;
  if (!url) throw new CliError('no hiy server configured: run "hiy login --url <server>" or set HIY_URL');
  if (!token) throw new CliError('no API token: run "hiy login" or set HIY_TOKEN');
  return { url, token };
}

/** The server URL alone (HIY_URL, else the saved one), or undefined: for commands that need no token. */
export function resolveServerUrl(env: Env): string | undefined {
  if (env.HIY_URL) return env.HIY_URL;
  try {
    return readSaved(env).url;
  } catch {
    return undefined;
  }
}
