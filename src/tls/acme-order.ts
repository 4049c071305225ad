/**
 * One certificate order by DNS-01 with acme-client (the well-kept ACME library; Debian's Caddy
 * has no DNS modules, so hiy obtains the wildcard itself). Loaded only with HIY_TLS=dns: the
 * library and its axios cost memory an idle hiy without it does not pay.
 */
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { challengeName, type DnsProvider } from './dns-provider.js';

export interface OrderOptions {
  directory: string;
  /** Extra root to trust for the directory's HTTPS (HIY_ACME_CA_ROOT), PEM. */
  caRootPem: string | undefined;
  accountKey: string;
  /** The account's URL at this directory when it was registered before. */
  accountUrl: string | undefined;
  names: string[];
  provider: DnsProvider;
  propagationMs: number;
  log: Logger;
  /** acme-client's polling of pending challenges and orders (defaults suit Let's Encrypt). */
  pollMinMs?: number;
  pollMaxMs?: number;
}

export interface Issued {
  certificate: string;
  key: string;
  accountUrl: string;
}

type Acme = typeof import('acme-client');

let loaded: Promise<Acme> | undefined;
async function acmeClient(): Promise<Acme> {
  loaded ??= import('acme-client').then((m) => ((m as unknown as { default?: Acme }).default ?? m));
  return loaded;
}

export async function newAccountKey(): Promise<string> {
  const acme = await acmeClient();
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

export async function orderCertificate(o: OrderOptions): Promise<Issued> {
  const acme = await acmeClient();
  // acme-client sends every request through its one axios instance: the trust of HIY_ACME_CA_ROOT
  // goes there (process-wide, but hiy has one ACME directory per process).
  acme.axios.defaults.httpsAgent = new Agent({ ca: o.caRootPem ? [...rootCertificates, o.caRootPem] : [...rootCertificates], keepAlive: false });
  const client = new acme.Client({
    directoryUrl: o.directory,
    accountKey: o.accountKey,
    ...(o.accountUrl ? { accountUrl: o.accountUrl } : {}),
    backoffAttempts: 12,
    backoffMin: o.pollMinMs ?? 3_000,
    backoffMax: o.pollMaxMs ?? 30_000,
  });
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof HiyError) throw err;
      throw new HiyError('unavailable', `ACME ${what} at ${o.directory} failed: ${describe(err)}`, { cause: err });
    }
  };

  // A known account is used as is: registering it again makes acme-client send an account
  // update that strict servers (pebble) refuse.
  if (!o.accountUrl) await step('account registration', () => client.createAccount({ termsOfServiceAgreed: true }));
  const order = await step('new order', () => client.createOrder({ identifiers: o.names.map((value) => ({ type: 'dns', value })) }));
  const authorizations = await step('authorizations', () => client.getAuthorizations(order));
  const written: { fqdn: string; value: string }[] = [];
  try {
    const challenges = [];
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue; // the CA remembers an earlier validation
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) throw new HiyError('unavailable', `the CA at ${o.directory} offers no dns-01 challenge for ${authz.identifier.value}`);
      const value = await client.getChallengeKeyAuthorization(challenge);
      const fqdn = challengeName(authz.identifier.value);
      o.log.info({ record: fqdn, provider: o.provider.name }, 'writing the DNS-01 TXT record');
      await o.provider.add(fqdn, value);
      written.push({ fqdn, value });
      challenges.push({ challenge, identifier: `${authz.wildcard ? '*.' : ''}${authz.identifier.value}` });
    }
    if (challenges.length > 0 && o.propagationMs > 0) await sleep(o.propagationMs);
    for (const c of challenges) await step(`challenge for ${c.identifier}`, () => client.completeChallenge(c.challenge));
    for (const c of challenges) await step(`validation of ${c.identifier}`, () => client.waitForValidStatus(c.challenge));
  } finally {
    for (const w of written) {
      await o.provider.remove(w.fqdn, w.value).catch((err: unknown) => o.log.warn({ record: w.fqdn, err: (err as Error).message }, 'could not remove a DNS-01 TXT record'));
    }
  }
  const [key, csr] = await acme.crypto.createCsr({ commonName: o.names[0], altNames: o.names }, await acme.crypto.createPrivateEcdsaKey('P-256'));
  const finalized = await step('finalization', () => client.finalizeOrder(order, csr));
  const certificate = await step('certificate download', () => client.getCertificate(finalized));
  return { certificate, key: key.toString(), accountUrl: client.getAccountUrl() };
}

function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; response?: { status?: number } };
  const msg = String(e.message ?? err).replace(/\s+/g, ' ').slice(0, 500);
  return e.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}
