/**
 * HIY_TLS=dns: hiy's own certificate for `<domain>` and `*.<domain>`, obtained by DNS-01 and
 * handed to Caddy (load_pem), so every app and hiy.<domain> share it and Caddy requests none per
 * app. Renewed two thirds into its lifetime; a failed attempt is retried with exponential backoff
 * while Caddy keeps serving the certificate it has. A restart loads the stored certificate: no
 * order unless it is due.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { HiyError } from '../errors.js';
import { CertStore, EMPTY_STATE, type RenewalState, type StoredCert } from './cert-store.js';
import type { DnsProvider } from './dns-provider.js';
import { newAccountKey, orderCertificate } from './acme-order.js';
import { covers, MAX_SLEEP_MS, renewAt, retryDelayMs, warnAt } from './schedule.js';
import type { AcmeSettings } from '../tls-settings.js';

export interface CertAlerts {
  raise(key: string, message: string): Promise<void>;
  settle(key: string, message: string): Promise<void>;
}

export interface WildcardDeps {
  domain: string;
  dataDir: string;
  acme: AcmeSettings;
  provider: DnsProvider;
  propagationSec: number;
  /** Puts the certificate into Caddy's config (Proxy.setCertificates). */
  install(cert: { certificate: string; key: string }): Promise<void>;
  alerts: CertAlerts;
  log: Logger;
  now?: () => number;
  retryBaseMs?: number;
  pollMinMs?: number;
  pollMaxMs?: number;
}

export interface WildcardStatus {
  names: string[];
  provider: string;
  directory: string;
  certificate: Omit<StoredCert, 'certificate' | 'key'> | null;
  renew_at: string | null;
  state: RenewalState;
  /** Set while an order runs. */
  renewing: boolean;
}

export const RENEWAL_ALERT = 'tls-renewal';
export const WILDCARD_EXPIRY_ALERT = 'tls-expiry-wildcard';

export class WildcardCertificate {
  readonly names: string[];
  private readonly store: CertStore;
  private readonly now: () => number;
  private current: StoredCert | undefined;
  /** Serial of the certificate Caddy has taken; differs from current's after a failed config load. */
  private installed: string | undefined;
  private state: RenewalState = { ...EMPTY_STATE };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly d: WildcardDeps) {
    this.names = [d.domain, `*.${d.domain}`];
    this.store = new CertStore(d.dataDir);
    this.now = d.now ?? Date.now;
  }

  /** Before Caddy is started: the stored certificate goes into the first config load. */
  async load(): Promise<void> {
    this.state = await this.store.readState();
    try {
      const stored = await this.store.readCert();
      if (stored && covers(stored.names, this.names)) {
        this.current = stored;
        await this.install();
        this.d.log.info({ names: stored.names, serial: stored.serial, notAfter: stored.notAfter.toISOString() }, 'loaded the stored wildcard certificate');
      } else if (stored) {
        this.d.log.warn({ names: stored.names, wanted: this.names }, 'the stored certificate does not cover this domain; ordering a new one');
      }
    } catch (err) {
      this.d.log.error({ err }, 'the stored wildcard certificate cannot be used; ordering a new one');
    }
  }

  /** Orders now when there is no usable certificate or it is due, then wakes when the next step is due. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // An order can poll the CA for minutes: shutdown does not wait for it (it ends with the process).
    if (this.running) await Promise.race([this.running.catch(() => undefined), sleep(5_000, undefined, { ref: false })]);
  }

  status(): WildcardStatus {
    const { certificate: _c, key: _k, ...cert } = this.current ?? ({} as Partial<StoredCert>);
    return {
      names: this.names,
      provider: this.d.provider.name,
      directory: this.d.acme.directory,
      certificate: this.current ? (cert as WildcardStatus['certificate']) : null,
      renew_at: this.current ? renewAt(this.current).toISOString() : null,
      state: { ...this.state },
      renewing: this.running !== undefined,
    };
  }

  /** `hiy certs:renew`: an order now, whatever the schedule; joins one that is running. Throws its error. */
  async renewNow(): Promise<WildcardStatus> {
    await (this.running ?? this.attempt());
    if (this.state.last_result === 'failed') throw new HiyError('unavailable', `renewing the certificate for ${this.names.join(', ')} failed: ${this.state.last_error ?? 'unknown error'}`);
    return this.status();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, Math.min(delayMs, MAX_SLEEP_MS)));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    const retryAt = this.state.next_attempt_at && this.state.last_result === 'failed' ? Date.parse(this.state.next_attempt_at) : 0;
    const due = !this.current || now >= renewAt(this.current).getTime();
    if (due && now >= retryAt) await (this.running ?? this.attempt());
    if (this.current && this.installed !== this.current.serial) await this.install();
    await this.checkExpiry();
    if (this.stopped) return;
    const next = [this.state.last_result === 'failed' && this.state.next_attempt_at ? Date.parse(this.state.next_attempt_at) : Infinity];
    if (this.current) next.push(renewAt(this.current).getTime(), warnAt(this.current).getTime(), this.current.notAfter.getTime());
    // A certificate Caddy did not take yet is offered again a minute later.
    if (this.current && this.installed !== this.current.serial) next.push(this.now() + 60_000);
    const at = Math.min(...next.filter((t) => t > this.now()));
    this.schedule(Number.isFinite(at) ? at - this.now() + 50 : MAX_SLEEP_MS);
  }

  private attempt(): Promise<void> {
    const run = this.order().finally(() => { this.running = undefined; });
    this.running = run;
    return run;
  }

  private async order(): Promise<void> {
    const started = new Date(this.now()).toISOString();
    const log = this.d.log.child({ names: this.names, provider: this.d.provider.name });
    log.info({ ca: this.d.acme.directory }, this.current ? 'renewing the wildcard certificate' : 'ordering the wildcard certificate');
    try {
      const issued = await orderCertificate({
        directory: this.d.acme.directory,
        caRootPem: this.d.acme.caRootFile ? await readFile(this.d.acme.caRootFile, 'utf8') : undefined,
        accountKey: await this.store.accountKey(newAccountKey),
        accountUrl: await this.store.accountUrl(this.d.acme.directory),
        names: this.names,
        provider: this.d.provider,
        propagationMs: this.d.propagationSec * 1000,
        log,
        pollMinMs: this.d.pollMinMs,
        pollMaxMs: this.d.pollMaxMs,
      });
      await this.store.saveAccountUrl(this.d.acme.directory, issued.accountUrl);
      const stored = await this.store.writeCert(issued.certificate, issued.key);
      // Caddy takes it first; then the certificate and this attempt's result change together, so
      // the status never shows the new certificate with the previous attempt's state, nor one
      // Caddy was not offered yet.
      await this.install(stored);
      this.current = stored;
      this.state = { ...this.state, last_attempt_at: started, last_result: 'ok', last_error: null, last_success_at: new Date(this.now()).toISOString(), failures: 0, next_attempt_at: renewAt(stored).toISOString() };
      await this.store.writeState(this.state);
      log.info({ serial: stored.serial, notAfter: stored.notAfter.toISOString(), renewAt: renewAt(stored).toISOString() }, 'the wildcard certificate is in place');
      await this.d.alerts.settle(RENEWAL_ALERT, `the certificate for ${this.names.join(', ')} was renewed`);
    } catch (err) {
      const message = (err as Error).message;
      const failures = this.state.failures + 1;
      const next = new Date(this.now() + retryDelayMs(failures, this.d.retryBaseMs));
      this.state = { ...this.state, last_attempt_at: started, last_result: 'failed', last_error: message, failures, next_attempt_at: next.toISOString() };
      await this.store.writeState(this.state).catch((e: unknown) => log.error({ err: e }, 'could not record the renewal state'));
      log.error({ err: message, failures, retryAt: next.toISOString() }, 'obtaining the wildcard certificate failed; Caddy keeps the certificate it has');
      await this.d.alerts.raise(RENEWAL_ALERT, `obtaining the certificate for ${this.names.join(', ')} failed (${failures}× in a row; next try ${next.toISOString()}): ${message}`);
    }
  }

  /** Hands the current certificate to Caddy; a Caddy that does not answer gets it on a later tick (the order is not repeated). */
  private async install(c = this.current): Promise<void> {
    if (!c) return;
    try {
      await this.d.install(c);
      this.installed = c.serial;
    } catch (err) {
      this.d.log.error({ err, serial: c.serial }, 'Caddy did not take the wildcard certificate; offering it again later');
    }
  }

  private async checkExpiry(): Promise<void> {
    const c = this.current;
    if (!c) return;
    const now = this.now();
    if (now >= warnAt(c).getTime()) {
      const left = c.notAfter.getTime() - now;
      await this.d.alerts.raise(WILDCARD_EXPIRY_ALERT, left > 0
        ? `the certificate for ${c.names.join(', ')} expires ${c.notAfter.toISOString()} (in ${humanDuration(left)}) and has not been renewed`
        : `the certificate for ${c.names.join(', ')} expired ${c.notAfter.toISOString()}`);
    } else {
      await this.d.alerts.settle(WILDCARD_EXPIRY_ALERT, `the certificate for ${c.names.join(', ')} is valid until ${c.notAfter.toISOString()}`);
    }
  }
}

export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
