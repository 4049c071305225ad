/**
 * Certificates as the operator sees them (`hiy certs`, GET /api/v1/certs, the dashboard's system
 * page): what Caddy serves for every host hiy routes, with hiy's own wildcard certificate and its
 * renewal state in HIY_TLS=dns. An hourly look at the served certificates opens an incident for
 * any that is close to its end, whoever manages it (Caddy's HTTP-01 ones included).
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { cloudflareProvider } from './dns-cloudflare.js';
import type { DnsProvider } from './dns-provider.js';
import { rfc2136Provider } from './dns-rfc2136.js';
import { humanDuration, WILDCARD_EXPIRY_ALERT, WildcardCertificate, type CertAlerts, type WildcardStatus } from './wildcard.js';
import { servedCertificates, type HostProblem, type ServedCert } from './served.js';
import { warnAt } from './schedule.js';

export interface CertificateListing {
  mode: Config['tls'];
  /** HIY_TLS=dns: hiy's wildcard certificate and its last renewal. */
  wildcard: WildcardStatus | null;
  certificates: (ServedCert & { managed_by: 'hiy' | 'caddy' })[];
  /** Hosts Caddy answered without a certificate (not issued yet, or failing). */
  problems: HostProblem[];
}

export interface CertificatesDeps {
  config: Config;
  log: Logger;
  /** Every host hiy routes: hiy.<domain>, <app>.<domain>, custom domains. */
  hosts(): Promise<string[]>;
  install(cert: { certificate: string; key: string }): Promise<void>;
  alerts: CertAlerts & { openKeys(): Promise<string[]> };
  /** Tests: how long after a failure the first retry comes (default 1 min). */
  retryBaseMs?: number;
  checkIntervalMs?: number;
}

const SERVED_ALERT_PREFIX = 'tls-expiry-';

export class Certificates {
  readonly wildcard: WildcardCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: CertificatesDeps) {
    const { config } = d;
    if (config.tls === 'dns' && config.dns) {
      this.wildcard = new WildcardCertificate({
        domain: config.domain,
        dataDir: config.dataDir,
        acme: config.acme,
        provider: providerFor(config),
        propagationSec: config.dns.propagationSec,
        install: d.install,
        alerts: d.alerts,
        log: d.log.child({ component: 'tls' }),
        retryBaseMs: d.retryBaseMs,
      });
    }
  }

  /** Before Caddy gets its first config: the stored certificate is part of it. */
  async load(): Promise<void> {
    await this.wildcard?.load();
  }

  start(): void {
    this.wildcard?.start();
    if (this.d.config.tls !== 'auto' && this.d.config.tls !== 'dns') return;
    const every = this.d.checkIntervalMs ?? 3_600_000;
    const loop = () => {
      this.timer = setTimeout(() => void this.checkServed().catch((err: unknown) => this.d.log.warn({ err }, 'certificate check failed')).finally(loop), every);
      this.timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.wildcard?.stop();
  }

  async renew(): Promise<WildcardStatus> {
    if (!this.wildcard) throw new HiyError('conflict', `hiy obtains certificates itself only with HIY_TLS=dns (this server runs HIY_TLS=${this.d.config.tls}; Caddy renews its own)`);
    return this.wildcard.renewNow();
  }

  async list(): Promise<CertificateListing> {
    const { config } = this.d;
    const wildcard = this.wildcard?.status() ?? null;
    if (config.tls === 'off') return { mode: config.tls, wildcard, certificates: [], problems: [] };
    const served = await servedCertificates({
      host: connectHost(config.proxyListenHost),
      port: config.httpsPort,
      hosts: await this.d.hosts(),
      extraCa: config.acme.caRootFile ? await readFile(config.acme.caRootFile, 'utf8').catch(() => undefined) : undefined,
    });
    return {
      mode: config.tls,
      wildcard,
      certificates: served.certificates.map((c) => ({ ...c, managed_by: wildcard?.certificate?.serial === c.serial ? 'hiy' as const : 'caddy' as const })),
      problems: served.problems,
    };
  }

  /** Certificates Caddy manages (custom domains, HIY_TLS=auto) close to their end are incidents too. */
  async checkServed(): Promise<void> {
    const listing = await this.list();
    const now = Date.now();
    const firing = new Set<string>();
    for (const c of listing.certificates) {
      if (c.managed_by === 'hiy') continue; // the wildcard has its own alert
      const v = { notBefore: new Date(c.not_before), notAfter: new Date(c.not_after) };
      if (now < warnAt(v).getTime()) continue;
      const key = `${SERVED_ALERT_PREFIX}${c.hosts[0]}`;
      firing.add(key);
      await this.d.alerts.raise(key, `the certificate Caddy serves for ${c.hosts.join(', ')} ends ${c.not_after} (${v.notAfter.getTime() > now ? `in ${humanDuration(v.notAfter.getTime() - now)}` : 'already over'}); Caddy has not renewed it`);
    }
    for (const key of await this.d.alerts.openKeys()) {
      if (key.startsWith(SERVED_ALERT_PREFIX) && key !== WILDCARD_EXPIRY_ALERT && !firing.has(key)) {
        await this.d.alerts.settle(key, `the certificate for ${key.slice(SERVED_ALERT_PREFIX.length)} was renewed or is no longer served`);
      }
    }
  }
}

function providerFor(config: Config): DnsProvider {
  const dns = config.dns!;
  return dns.provider === 'cloudflare'
    ? cloudflareProvider(dns)
    : rfc2136Provider({ ...dns, pathEnv: config.pathEnv });
}

/** Caddy's HTTPS listener as seen from this host. */
function connectHost(listenHost: string): string {
  if (listenHost === '' || listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '::1';
  return listenHost;
}
