/**
 * DNS-01 records through Cloudflare's DNS records API (https://developers.cloudflare.com/api/):
 * GET /zones?name= to find the zone, POST /zones/:id/dns_records to add a TXT record,
 * DELETE /zones/:id/dns_records/:record to remove it. The API token (Zone:Read + DNS:Edit on
 * one zone) is read from its file for every order and never appears in a log or an error.
 */
import { readFile } from 'node:fs/promises';
import { HiyError } from '../errors.js';
import type { DnsProvider } from './dns-provider.js';
import type { CloudflareSettings } from '../tls-settings.js';

const TIMEOUT_MS = 30_000;

interface CfAnswer {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: unknown;
}

export function cloudflareProvider(s: Pick<CloudflareSettings, 'tokenFile' | 'api'>): DnsProvider {
  const zones = new Map<string, string>();
  const records = new Map<string, { zone: string; id: string }>();

  async function token(): Promise<string> {
    let t: string;
    try {
      t = (await readFile(s.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new HiyError('config', `cannot read the Cloudflare API token file ${s.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!/^[\x21-\x7e]{10,}$/.test(t)) throw new HiyError('config', `the Cloudflare API token file ${s.tokenFile} does not hold a token (one line, no spaces)`);
    return t;
  }

  async function call(what: string, method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${s.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${await token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof HiyError) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new HiyError('unavailable', `Cloudflare's API (${s.api}) did not answer while ${what}: ${cause}`, { cause: err });
    }
    let answer: CfAnswer = {};
    try { answer = await res.json() as CfAnswer; } catch { /* described below */ }
    if (!res.ok || answer.success !== true) {
      const errors = (answer.errors ?? []).map((e) => `${String(e.message ?? 'error').slice(0, 300)} (code ${e.code ?? '?'})`).join('; ');
      throw new HiyError('unavailable', `Cloudflare refused ${what}: ${errors || 'no reason given'} (HTTP ${res.status})`);
    }
    return answer.result;
  }

  /** The zone holding `fqdn`: the longest of its parent names Cloudflare knows (the token sees only its zone). */
  async function zoneOf(fqdn: string): Promise<string> {
    const labels = fqdn.split('.');
    for (let i = 1; i < labels.length - 1; i++) {
      const name = labels.slice(i).join('.');
      const cached = zones.get(name);
      if (cached) return cached;
      const result = await call(`to look up the zone ${name}`, 'GET', `/zones?name=${encodeURIComponent(name)}`);
      const id = Array.isArray(result) ? (result[0] as { id?: unknown } | undefined)?.id : undefined;
      if (typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        zones.set(name, id);
        return id;
      }
    }
    throw new HiyError('unavailable', `Cloudflare knows no zone holding ${fqdn} that this API token may read (the token needs Zone:Read and DNS:Edit on the zone)`);
  }

  return {
    name: 'Cloudflare',
    async add(fqdn, value) {
      const zone = await zoneOf(fqdn);
      const result = await call(`to create the TXT record ${fqdn}`, 'POST', `/zones/${zone}/dns_records`, { type: 'TXT', name: fqdn, content: value, ttl: 60 });
      const id = (result as { id?: unknown } | null)?.id;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HiyError('unavailable', `Cloudflare created the TXT record ${fqdn} but gave no record id`);
      records.set(`${fqdn} ${value}`, { zone, id });
    },
    async remove(fqdn, value) {
      const rec = records.get(`${fqdn} ${value}`);
      if (!rec) return;
      await call(`to delete the TXT record ${fqdn}`, 'DELETE', `/zones/${rec.zone}/dns_records/${rec.id}`);
      records.delete(`${fqdn} ${value}`);
    },
  };
}
