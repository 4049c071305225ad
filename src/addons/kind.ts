/**
 * What hiy relies on in each kind's image: its documented contract (docs/addons.md) and nothing
 * more. One entry per kind; postgres.ts and redis.ts fill them in.
 */
import type { AddonKind } from '../contract.js';

export interface KindContract {
  kind: AddonKind;
  /** As people call the server: PostgreSQL, Redis. */
  label: string;
  /** What an attachment is called unless --as says otherwise (DATABASE → DATABASE_URL). */
  defaultAs: string;
  port: number;
  /** The image's documented non-root user, uid:gid. */
  user: string;
  dataPath: string;
  /** What the image writes besides its data, given a tmpfs under a read-only root. */
  tmpfs: Record<string, string>;
  defaultMemoryMb: number;
  minMemoryMb: number;
  pidsLimit: number;
  stopTimeoutSec: number;
  /** The container's environment; the password reaches the server through it, never through argv. */
  env(addon: string, password: string): Record<string, string>;
  /** The server's command, tuned to its memory limit. */
  cmd(memoryMb: number): string[];
  /** What attached apps get, e.g. postgres://postgres:…@shop-db:5432/shop_db. */
  url(addon: string, password: string): string;
  /** Postgres: the database and user of the URL. */
  database(addon: string): string | null;
  dbUser: string | null;
  /** Run inside the container: succeeds once the server accepts connections from apps. */
  readyCmd: string[];
  isReady(out: { exitCode: number; stdout: string }): boolean;
  versionCmd: string[];
  parseVersion(out: string): string | undefined;
  /** Writes a consistent online dump to stdout. */
  dumpCmd(addon: string): string[];
  /** A dump starts with these bytes; anything else is refused before the data is touched. */
  dumpMagic: string;
  dumpExt: string;
}

/** The major of a version (17.2 → 17, 7.4.1 → 7). */
export const majorOf = (version: string): number => Number(version.split('.')[0]);

/** `du -sk <dir>` inside the container: bytes its data takes. */
export const diskCmd = (k: KindContract): string[] => ['du', '-sk', k.dataPath];
export function parseDisk(out: string): number | undefined {
  const m = /^(\d+)\s/.exec(out);
  return m ? Number(m[1]) * 1024 : undefined;
}
