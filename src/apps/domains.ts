import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { HiyError } from '../errors.js';
import type { AppRoute } from '../proxy/proxy.js';
import { routeFor } from './route.js';
import type { Services } from '../services.js';
import { getApp } from './repo.js';

export const MAX_DOMAINS_PER_APP = 20;
const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A custom hostname: lowercase DNS name with at least two labels, no IP address, no wildcard, and
 * not under hiy's own domain (those names are `<app>.<domain>` and `hiy.<domain>`).
 */
export function validateDomain(raw: unknown, config: Pick<Config, 'domain'>): string {
  const rule = 'a hostname such as shop.example.com: letters, digits and "-" in dot-separated labels';
  if (typeof raw !== 'string') throw new HiyError('invalid_input', `domain must be ${rule}`);
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  const shown = JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
  const labels = host.split('.');
  if (host.length > 253 || labels.length < 2 || !labels.every((l) => LABEL_RE.test(l))) {
    throw new HiyError('invalid_input', `invalid domain ${shown}: ${rule}`);
  }
  if (labels.every((l) => /^\d+$/.test(l)) || /^\d+$/.test(labels[labels.length - 1]!)) {
    throw new HiyError('invalid_input', `invalid domain ${shown}: an IP address is not a domain`);
  }
  if (host === config.domain || host.endsWith(`.${config.domain}`)) {
    throw new HiyError('invalid_input', `${host} is under hiy's own domain ${config.domain}: apps answer there as <app>.${config.domain} already`);
  }
  return host;
}

export async function listDomains(db: Kysely<Database>, app: string): Promise<{ host: string; created_at: string }[]> {
  return db.selectFrom('domains').select(['host', 'created_at']).where('app', '=', app).orderBy('host').execute();
}

export async function addDomain(db: Kysely<Database>, app: string, host: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const owner = await trx.selectFrom('domains').select('app').where('host', '=', host).executeTakeFirst();
    if (owner) {
      throw new HiyError('conflict', owner.app === app ? `${host} already routes to ${app}` : `${host} is already used by another app`);
    }
    const n = await trx.selectFrom('domains').select((eb) => eb.fn.countAll<number>().as('n')).where('app', '=', app).executeTakeFirstOrThrow();
    if (Number(n.n) >= MAX_DOMAINS_PER_APP) throw new HiyError('invalid_input', `an app can have at most ${MAX_DOMAINS_PER_APP} custom domains`);
    await trx.insertInto('domains').values({ host, app, created_at: nowIso() }).execute();
  });
}

export async function removeDomain(db: Kysely<Database>, app: string, host: string): Promise<void> {
  const res = await db.deleteFrom('domains').where('app', '=', app).where('host', '=', host).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new HiyError('not_found', `${host} is not a domain of ${app}`);
}


export async function routeForName(db: Kysely<Database>, name: string): Promise<AppRoute> {
  return routeFor(db, await getApp(db, name));
}

/**
 * A custom hostname for the app: recorded, then the app's route gets it (a host file, no reload
 * of Caddy: no connection of any app is reset). A route the proxy refuses takes the hostname back
 * out, so the table never lists one that is not served.
 */
export async function attachDomain(s: Pick<Services, 'db' | 'proxy' | 'config'>, app: string, host: string): Promise<void> {
  await addDomain(s.db, app, host);
  try {
    await s.proxy.setRoute(await routeForName(s.db, app));
  } catch (err) {
    await removeDomain(s.db, app, host);
    throw err;
  }
}

export async function detachDomain(s: Pick<Services, 'db' | 'proxy' | 'config'>, app: string, host: string): Promise<void> {
  await removeDomain(s.db, app, host);
  await s.proxy.setRoute(await routeForName(s.db, app));
}

/** hiy.<domain>, every <app>.<domain> and every custom domain: the hosts Caddy serves for hiy (src/tls). */
export async function servedHosts(db: Kysely<Database>, domain: string): Promise<string[]> {
  const apps = await db.selectFrom('apps').select('name').execute();
  const domains = await db.selectFrom('domains').select('host').execute();
  return [`hiy.${domain}`, ...apps.map((a) => `${a.name}.${domain}`), ...domains.map((d) => d.host)];
}
