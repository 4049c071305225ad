/** The kinds of add-on hiy runs, by name. */
import type { AddonKind } from '../contract.js';
import { HiyError } from '../errors.js';
import type { KindContract } from './kind.js';
import { POSTGRES } from './postgres.js';
import { REDIS } from './redis.js';

export const KIND_NAMES: AddonKind[] = ['postgres', 'redis'];

const KINDS: Record<AddonKind, KindContract> = { postgres: POSTGRES, redis: REDIS };

export function kindOf(kind: unknown): KindContract {
  if (kind !== 'postgres' && kind !== 'redis') {
    throw new HiyError('invalid_input', `unknown add-on kind ${typeof kind === 'string' ? JSON.stringify(kind.slice(0, 20)) : typeof kind}: postgres or redis`);
  }
  return KINDS[kind];
}

