/**
 * Names that reach the engine and apps' environments, checked at the boundary: an add-on's name
 * is its host name on the networks of the apps it is attached to, and names its container,
 * volume and network; `--as NAME` names the app's variable (`NAME_URL`).
 */
import { ENV_KEY_MAX, RESERVED_ENV_KEYS } from '../apps/names.js';
import { HiyError } from '../errors.js';

export const ADDON_NAME_RULE = 'add-on names are 2-40 characters: lowercase letters, digits and "-", starting with a letter, not ending with "-", not starting with "hiy"';

const ADDON_NAME_RE = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
/** Host names an app may rely on meaning something else on its network. */
const RESERVED = new Set(['localhost', 'gateway', 'host', 'docker', 'caddy']);

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v);

export function validateAddonName(name: unknown): string {
  // "hiy…" would shadow the names of apps' own containers (hiy-<app>-…) on their networks.
  if (typeof name !== 'string' || !ADDON_NAME_RE.test(name) || name.includes('--') || name.startsWith('hiy')) {
    throw new HiyError('invalid_name', `invalid add-on name ${shown(name)}: ${ADDON_NAME_RULE}`);
  }
  if (RESERVED.has(name)) throw new HiyError('invalid_name', `"${name}" is reserved; choose another add-on name`);
  return name;
}

export const ATTACH_NAME_RULE = 'the name given with --as is 1-40 letters, digits and "_", starting with a letter (DATABASE gives DATABASE_URL)';

/** `--as` as given (any case, a trailing _URL tolerated) → the upper-case name whose _URL the app gets. */
export function validateAttachName(as: unknown): string {
  if (typeof as !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,43}$/.test(as)) throw new HiyError('invalid_input', `invalid --as ${shown(as)}: ${ATTACH_NAME_RULE}`);
  const name = as.toUpperCase().replace(/_URL$/, '');
  if (name.length === 0 || name.length > 40 || name.endsWith('_')) throw new HiyError('invalid_input', `invalid --as ${shown(as)}: ${ATTACH_NAME_RULE}`);
  const key = varOf(name);
  if (key.length > ENV_KEY_MAX || RESERVED_ENV_KEYS.has(key)) throw new HiyError('invalid_input', `${key} is set by hiy and cannot be an add-on's variable`);
  return name;
}

/** The variable an attachment sets on its app. */
export const varOf = (asName: string): string => `${asName}_URL`;
