/**
 * The TLS settings of HIY_TLS=dns and of every ACME path (docs/tls.md), parsed from the
 * environment by config.ts. Secrets stay in files: only their paths are kept here, and the files
 * are read when a certificate is ordered (a rotated token needs no restart).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';

// config.ts reads these settings through this module: its Env and HostPort, by shape, so that
// nothing is imported back from it.
type Env = Record<string, string | undefined>;
interface HostPort {
  host: string;
  port: number;
}

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';
export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1', 'hmac-md5'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

export interface AcmeSettings {
  /** ACME directory URL of hiy's own DNS-01 client (HIY_ACME_CA; default Let's Encrypt). */
  directory: string;
  /** Whether HIY_ACME_CA was set: only then is Caddy's HTTP-01 issuer pointed at it (else Caddy's defaults). */
  directoryGiven: boolean;
  /** PEM file of a root to trust for the directory's HTTPS (HIY_ACME_CA_ROOT; test CAs). */
  caRootFile: string | undefined;
}

export interface CloudflareSettings {
  provider: 'cloudflare';
  tokenFile: string;
  /** API base URL, without a trailing slash. */
  api: string;
}

export interface Rfc2136Settings {
  provider: 'rfc2136';
  server: HostPort;
  keyName: string;
  keyAlgorithm: TsigAlgorithm;
  /** File holding the base64 TSIG secret. */
  keyFile: string;
}

export type DnsSettings = (CloudflareSettings | Rfc2136Settings) & {
  /** Seconds to wait after the TXT record is in place before the CA is asked to look. */
  propagationSec: number;
};

type Fail = (name: string, message: string) => never;

export function acmeFromEnv(env: Env, fail: Fail, readableFile: (name: string, path: string) => string): AcmeSettings {
  const raw = env.HIY_ACME_CA === '' ? undefined : env.HIY_ACME_CA;
  if (raw !== undefined && !isHttpsUrl(raw)) fail('HIY_ACME_CA', 'must be the https:// URL of an ACME directory');
  const root = env.HIY_ACME_CA_ROOT === '' ? undefined : env.HIY_ACME_CA_ROOT;
  return {
    directory: raw ?? LETS_ENCRYPT_DIRECTORY,
    directoryGiven: raw !== undefined,
    caRootFile: root === undefined ? undefined : readableFile('HIY_ACME_CA_ROOT', root),
  };
}

/** HIY_DNS_* (only read with HIY_TLS=dns). */
export function dnsFromEnv(env: Env, fail: Fail, readableFile: (name: string, path: string) => string, parseHostPort: (name: string, raw: string) => HostPort): DnsSettings {
  const provider = env.HIY_DNS_PROVIDER;
  const propagationSec = integer(env.HIY_DNS_PROPAGATION_SECONDS, 10, 0, 600, 'HIY_DNS_PROPAGATION_SECONDS', fail);
  if (provider === 'cloudflare') {
    const tokenFile = env.HIY_DNS_CLOUDFLARE_TOKEN_FILE;
    if (!tokenFile) fail('HIY_DNS_CLOUDFLARE_TOKEN_FILE', 'is required with HIY_DNS_PROVIDER=cloudflare (a file holding the API token)');
    const api = (env.HIY_DNS_CLOUDFLARE_API || CLOUDFLARE_API).replace(/\/+$/, '');
    if (!isHttpUrl(api)) fail('HIY_DNS_CLOUDFLARE_API', 'must be an http(s):// URL');
    return { provider, tokenFile: readableFile('HIY_DNS_CLOUDFLARE_TOKEN_FILE', tokenFile), api, propagationSec };
  }
  if (provider === 'rfc2136') {
    const server = env.HIY_DNS_RFC2136_SERVER;
    if (!server) fail('HIY_DNS_RFC2136_SERVER', 'is required with HIY_DNS_PROVIDER=rfc2136 (host:port of the primary name server)');
    const keyName = (env.HIY_DNS_RFC2136_KEY_NAME ?? '').toLowerCase();
    if (!/^(?=.{1,253}\.?$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/.test(keyName)) {
      fail('HIY_DNS_RFC2136_KEY_NAME', 'is required: the TSIG key name (for example hiy-acme.)');
    }
    const alg = (env.HIY_DNS_RFC2136_KEY_ALG || 'hmac-sha256').toLowerCase();
    if (!(TSIG_ALGORITHMS as readonly string[]).includes(alg)) fail('HIY_DNS_RFC2136_KEY_ALG', `"${alg}" is not one of ${TSIG_ALGORITHMS.join(', ')}`);
    const keyFile = env.HIY_DNS_RFC2136_KEY_FILE;
    if (!keyFile) fail('HIY_DNS_RFC2136_KEY_FILE', 'is required: a file holding the base64 TSIG secret');
    return {
      provider,
      server: parseHostPort('HIY_DNS_RFC2136_SERVER', server.includes(':') ? server : `${server}:53`),
      keyName,
      keyAlgorithm: alg as TsigAlgorithm,
      keyFile: readableFile('HIY_DNS_RFC2136_KEY_FILE', keyFile),
      propagationSec,
    };
  }
  fail('HIY_DNS_PROVIDER', provider ? `"${provider}" is not one of cloudflare, rfc2136` : 'is required with HIY_TLS=dns (cloudflare or rfc2136)');
}

/** An absolute path to a readable regular file, or a config error naming the variable. */
export function readableFileChecker(fail: Fail): (name: string, path: string) => string {
  return (name, path) => {
    if (!isAbsolute(path)) fail(name, `"${path.slice(0, 200)}" is not an absolute path`);
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
      accessSync(path, constants.R_OK);
    } catch (err) {
      fail(name, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!isFile) fail(name, `${path} is not a file`);
    return path;
  };
}

function integer(raw: string | undefined, def: number, min: number, max: number, name: string, fail: Fail): number {
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) fail(name, `"${raw}" is not a whole number from ${min} to ${max}`);
  return Number(raw);
}

function isHttpsUrl(raw: string): boolean {
  try { return new URL(raw).protocol === 'https:'; } catch { return false; }
}

function isHttpUrl(raw: string): boolean {
  try { const p = new URL(raw).protocol; return p === 'https:' || p === 'http:'; } catch { return false; }
}
