/**
 * hiy's own certificate files under <data dir>/tls (0700; every file 0600, so `hiy backup` takes
 * them with their modes):
 *   account-key.pem   the ACME account's private key
 *   account.json      the account's URL per ACME directory (an existing account is not registered again)
 *   wildcard.pem      the certificate chain followed by its private key: one file, so a rename
 *                     replaces both at once and a crash never pairs a new certificate with an old key
 *   state.json        the last renewal attempt and its outcome (`hiy certs`)
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HiyError } from '../errors.js';

export const TLS_DIR = 'tls';

export interface StoredCert {
  /** The chain (leaf first), PEM. */
  certificate: string;
  /** The leaf's private key, PEM. */
  key: string;
  names: string[];
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface RenewalState {
  last_attempt_at: string | null;
  last_result: 'ok' | 'failed' | null;
  last_error: string | null;
  last_success_at: string | null;
  /** Failed attempts in a row (0 after a success). */
  failures: number;
  next_attempt_at: string | null;
}

export const EMPTY_STATE: RenewalState = { last_attempt_at: null, last_result: null, last_error: null, last_success_at: null, failures: 0, next_attempt_at: null };

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\r?\n?/g;
const PEM_KEY_RE = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----\r?\n?/;

/** Names, issuer, serial and validity of the first certificate of a PEM chain. */
export function describeCert(chainPem: string): Omit<StoredCert, 'certificate' | 'key'> {
  const leaf = new X509Certificate(chainPem.match(PEM_CERT_RE)?.[0] ?? chainPem);
  return {
    names: sanNames(leaf.subjectAltName),
    issuer: commonName(leaf.issuer),
    serial: leaf.serialNumber.toLowerCase(),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
  };
}

export function sanNames(san: string | undefined): string[] {
  return (san ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
}

/** `CN=Pebble Intermediate CA 1\nO=…` → the CN (or the whole name when it has none). */
export function commonName(dn: string): string {
  const parts = dn.split('\n');
  const cn = parts.find((p) => p.startsWith('CN='));
  const org = parts.find((p) => p.startsWith('O='));
  return cn ? `${cn.slice(3)}${org ? ` (${org.slice(2)})` : ''}` : dn.replace(/\n/g, ', ');
}

export class CertStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, TLS_DIR);
  }

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The wildcard certificate, or undefined when there is none yet. A damaged file is an error, not a silent re-issue. */
  async readCert(): Promise<StoredCert | undefined> {
    const file = join(this.dir, 'wildcard.pem');
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const certs = pem.match(PEM_CERT_RE) ?? [];
    const key = pem.match(PEM_KEY_RE)?.[0];
    if (certs.length === 0 || !key) throw new HiyError('internal', `${file} does not hold a certificate chain and a private key`);
    const certificate = certs.join('');
    const leaf = new X509Certificate(certs[0]!);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new HiyError('internal', `${file}: the private key does not belong to the certificate`);
    return { certificate, key, ...describeCert(certificate) };
  }

  async writeCert(certificate: string, key: string): Promise<StoredCert> {
    this.ensureDir();
    const chain = (certificate.match(PEM_CERT_RE) ?? []).map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
    await this.writeAtomically('wildcard.pem', `${chain}${key.trim()}\n`);
    const stored = await this.readCert();
    if (!stored) throw new HiyError('internal', 'the certificate just written is gone');
    return stored;
  }

  /** The ACME account key, made on first use. */
  async accountKey(create: () => Promise<string>): Promise<string> {
    const file = join(this.dir, 'account-key.pem');
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.ensureDir();
    const pem = await create();
    await this.writeAtomically('account-key.pem', pem);
    return pem;
  }

  async accountUrl(directory: string): Promise<string | undefined> {
    const all = await this.readJson<Record<string, string>>('account.json');
    const url = all?.[directory];
    return typeof url === 'string' ? url : undefined;
  }

  async saveAccountUrl(directory: string, url: string): Promise<void> {
    this.ensureDir();
    const all = (await this.readJson<Record<string, string>>('account.json')) ?? {};
    await this.writeAtomically('account.json', `${JSON.stringify({ ...all, [directory]: url }, null, 2)}\n`);
  }

  private async readJson<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, name), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async readState(): Promise<RenewalState> {
    try {
      return { ...EMPTY_STATE, ...JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as Partial<RenewalState> };
    } catch {
      return { ...EMPTY_STATE };
    }
  }

  async writeState(state: RenewalState): Promise<void> {
    this.ensureDir();
    await this.writeAtomically('state.json', `${JSON.stringify(state, null, 2)}\n`);
  }

  private async writeAtomically(name: string, content: string): Promise<void> {
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    try {
      await writeFile(tmp, content, { mode: 0o600 });
      await chmod(tmp, 0o600); // a umask cannot widen it, but an existing tmp could have another mode
      await rename(tmp, join(this.dir, name));
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
