import { HiyError } from '../errors.js';

export const APP_NAME_RE = /^[a-z][a-z0-9-]{0,29}$/;

/** Names that would collide with hiy's own hostnames or paths. */
export const RESERVED_APP_NAMES = new Set([
  'hiy', 'api', 'git', 'www', 'admin', 'dashboard', 'hooks', 'static', 'assets', 'login', 'logout',
  'mail', 'smtp', 'ftp', 'localhost', 'caddy', 'docker', 'root', 'system', 'status', 'metrics',
]);

export const APP_NAME_RULE = 'app names are 1-30 characters: lowercase letters, digits and "-", starting with a letter and not ending with "-"';

export function validateAppName(name: unknown): string {
  if (typeof name !== 'string' || !APP_NAME_RE.test(name) || name.endsWith('-') || name.includes('--')) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name) : typeof name;
    throw new HiyError('invalid_name', `invalid app name ${shown}: ${APP_NAME_RULE}`);
  }
  if (RESERVED_APP_NAMES.has(name)) {
    throw new HiyError('invalid_name', `"${name}" is reserved; choose another app name`);
  }
  return name;
}

export const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_KEY_MAX = 128;
export const ENV_VALUE_MAX = 32 * 1024;
export const ENV_VARS_MAX = 200;
/** Variables hiy sets itself; an app cannot override them. */
export const RESERVED_ENV_KEYS = new Set(['PORT']);

export function validateEnvKey(key: unknown): string {
  if (typeof key !== 'string' || key.length > ENV_KEY_MAX || !ENV_KEY_RE.test(key)) {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : typeof key;
    throw new HiyError('invalid_input', `invalid env key ${shown}: letters, digits and "_", not starting with a digit, at most ${ENV_KEY_MAX} characters`);
  }
  if (RESERVED_ENV_KEYS.has(key)) throw new HiyError('invalid_input', `${key} is set by hiy and cannot be changed`);
  return key;
}

export function validateEnvValue(key: string, value: unknown): string {
  if (typeof value !== 'string') throw new HiyError('invalid_input', `value of ${key} must be a string`);
  if (Buffer.byteLength(value, 'utf8') > ENV_VALUE_MAX) throw new HiyError('invalid_input', `value of ${key} is larger than ${ENV_VALUE_MAX / 1024} KiB`);
  if (value.includes('\0')) throw new HiyError('invalid_input', `value of ${key} contains a NUL byte`);
  return value;
}
