/** proxy/base.json: the static part of hiy's Caddy config (caddy-config.ts merges the rest in). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HiyError } from '../errors.js';
import type { JsonObject } from './caddy-json.js';

export async function readBaseConfig(file: string): Promise<JsonObject> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new HiyError('config', `cannot read the Caddy base config ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HiyError('config', `the Caddy base config ${file} must be a JSON object`);
  }
  return parsed as JsonObject;
}

/** proxy/base.json of this installation: the folder above this file that holds package.json. */
export function defaultBaseConfigFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proxy', 'base.json'))) return join(dir, 'proxy', 'base.json');
    const up = dirname(dir);
    if (up === dir) throw new HiyError('config', 'proxy/base.json not found above the hiy installation');
    dir = up;
  }
}
