import type { Kysely } from 'kysely';
import type { LogLineView } from '../contract.js';
import type { Database } from '../db/database.js';
import type { StoredLine } from './store.js';

const NEGATIVE_TTL_MS = 5000;

/** Deploy id → release version of one app, cached (a deploy's release, once recorded, never changes). */
export class ReleaseVersions {
  private readonly known = new Map<number, number>();
  private readonly missing = new Map<number, number>();

  constructor(private readonly db: Kysely<Database>, private readonly app: string) {}

  async view(lines: StoredLine[]): Promise<LogLineView[]> {
    const now = Date.now();
    const ask = [...new Set(lines.map((l) => l.deploy_id).filter((d): d is number => d !== null && !this.known.has(d) && !((this.missing.get(d) ?? 0) > now)))];
    if (ask.length) {
      const rows = await this.db.selectFrom('releases').select(['deploy_id', 'version']).where('app', '=', this.app).where('deploy_id', 'in', ask).execute();
      for (const r of rows) this.known.set(r.deploy_id, r.version);
      for (const d of ask) if (!this.known.has(d)) this.missing.set(d, now + NEGATIVE_TTL_MS);
    }
    return lines.map((l) => ({
      id: l.seq,
      time: l.ts,
      stream: l.stream,
      process: l.process,
      release: l.deploy_id === null ? null : this.known.get(l.deploy_id) ?? null,
      deploy: l.deploy_id,
      container: l.container,
      text: l.line,
    }));
  }
}
