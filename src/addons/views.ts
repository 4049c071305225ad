/**
 * What the API and the dashboard show of add-ons: the row plus what the engine says now (status,
 * disk used, memory). The URL leaves masked unless revealed; nothing else carries the password.
 */
import type { AddonInfo, AddonStatus, AddonView } from '../contract.js';
import { CgroupReader } from '../metrics/cgroup.js';
import type { AddonContainerInfo } from '../runtime/addons.js';
import type { Runtime } from '../runtime/runtime.js';
import { diskCmd, parseDisk } from './kind.js';
import { kindOf } from './kinds.js';
import { varOf } from './names.js';
import { attachmentsOf, getAddon, listAddons, type Addon, type Attachment } from './repo.js';
import type { AddonServices } from './service.js';

const MASK = '****';

interface Live {
  container: AddonContainerInfo | undefined;
  status: AddonStatus;
  diskBytes: number | null;
}

/** What the engine says about one add-on; an engine that does not answer gives "unknown". */
async function live(runtime: Runtime | undefined, row: Addon): Promise<Live> {
  if (!runtime) return { container: undefined, status: 'unknown', diskBytes: null };
  const k = kindOf(row.kind);
  try {
    const container = await runtime.addonContainer(row.name);
    if (!container) return { container, status: 'missing', diskBytes: null };
    if (container.state === 'restarting') return { container, status: 'restarting', diskBytes: null };
    if (!container.running) return { container, status: 'stopped', diskBytes: null };
    const [ready, disk] = await Promise.all([
      runtime.execAddon(row.name, { cmd: k.readyCmd, timeoutSec: 10 }).catch(() => undefined),
      runtime.execAddon(row.name, { cmd: diskCmd(k), timeoutSec: 20 }).catch(() => undefined),
    ]);
    return { container, status: ready && k.isReady(ready) ? 'running' : 'starting', diskBytes: disk?.exitCode === 0 ? parseDisk(disk.stdout) ?? null : null };
  } catch {
    return { container: undefined, status: 'unknown', diskBytes: null };
  }
}

function view(row: Addon, attachments: Attachment[], l: Live): AddonView {
  const k = kindOf(row.kind);
  return {
    name: row.name,
    kind: row.kind,
    image: row.image,
    version: row.version,
    status: l.status,
    memory_mb: row.memory_mb,
    disk_bytes: l.diskBytes,
    host: row.name,
    port: k.port,
    attachments: attachments.map((a) => ({ app: a.app, as: a.as_name, var: varOf(a.as_name), created_at: a.created_at })),
    created_at: row.created_at,
  };
}

async function engine(s: Pick<AddonServices, 'runtime'>): Promise<Runtime | undefined> {
  return s.runtime().catch(() => undefined);
}

/** Every add-on, or those attached to one app. */
export async function addonViews(s: Pick<AddonServices, 'db' | 'runtime'>, filter: { app?: string } = {}): Promise<AddonView[]> {
  let rows = await listAddons(s.db);
  const all = await attachmentsOf(s.db);
  if (filter.app) rows = rows.filter((r) => all.some((a) => a.addon === r.name && a.app === filter.app));
  if (rows.length === 0) return [];
  const runtime = await engine(s);
  return Promise.all(rows.map(async (r) => view(r, all.filter((a) => a.addon === r.name), await live(runtime, r))));
}

export async function addonInfo(s: Pick<AddonServices, 'db' | 'runtime' | 'secrets'>, name: string, reveal: boolean): Promise<AddonInfo> {
  const row = await getAddon(s.db, name);
  const k = kindOf(row.kind);
  const runtime = await engine(s);
  const l = await live(runtime, row);
  const reading = l.container?.running ? await new CgroupReader().read(l.container.id) : undefined;
  return {
    ...view(row, await attachmentsOf(s.db, { addon: row.name }), l),
    revealed: reveal,
    url: reveal ? k.url(row.name, await s.secrets.decrypt(row.password_enc)) : k.url(row.name, MASK),
    database: k.database(row.name),
    user: k.dbUser,
    memory_bytes: reading?.memoryBytes ?? null,
    restart_count: l.container?.restartCount ?? 0,
    started_at: l.container?.startedAt ?? null,
  };
}
