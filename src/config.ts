import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { HiyError } from './errors.js';
import { addonImagesFromEnv, buildImagesFromEnv, type AddonImages, type BuildImages } from './base-images.js';
import { acmeFromEnv, dnsFromEnv, readableFileChecker, type AcmeSettings, type DnsSettings } from './tls-settings.js';
import { parseTrustedProxies } from './trusted-proxies.js';

/** auto: Caddy's HTTP-01 per host; dns: hiy's own wildcard certificate by DNS-01 (src/tls); internal: Caddy's local CA; off: plain HTTP. */
export type TlsMode = 'auto' | 'dns' | 'internal' | 'off';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where Caddy's admin API listens: a unix socket (the default, in a 0700 folder, so no other
 * local user can reach it) or, as an explicit opt-in, a TCP address.
 */
export type RuntimeMode = 'auto' | 'docker' | 'swarm';

export type CaddyAdminAddress = HostPort | { socket: string };

/** Longest unix socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** Everything hiy reads from its environment, validated once at start. */
export interface Config {
  dataDir: string;
  domain: string;
  listen: HostPort;
  caddyAdmin: CaddyAdminAddress;
  /**
   * Set only for a root hiy with default settings: where a caddy.service started before the
   * upgrade to the admin socket may still listen (src/proxy/caddy-legacy-admin.ts).
   */
  caddyAdminLegacy: HostPort | undefined;
  httpPort: number;
  httpsPort: number;
  tls: TlsMode;
  adminToken: string | undefined;
  logLevel: string;
  /** First host port of the range that app release slots are published on (127.0.0.1 only). */
  slotPortBase: number;
  /**
   * Which Runtime runs app processes (HIY_RUNTIME): containers on this engine, services on its
   * Swarm, or auto (services when the engine is a Swarm manager with more than one node).
   */
  runtime: RuntimeMode;
  /**
   * HIY_SWARM_NODE_ENGINES: engine addresses of a Swarm's nodes that hiy copies images into
   * (tests and labs with every node's socket on one machine; swarm-images.ts).
   */
  swarmNodeEngines: string[];
  /**
   * HIY_OVERLAY_ENCRYPTION (on | off, default on): apps' overlay networks encrypt traffic between
   * nodes (IPsec ESP). Off only where the nodes' kernels have no ESP (CONFIG_INET_ESP), on a
   * network nobody else is on: traffic between an app's tasks then crosses it in the clear.
   */
  overlayEncryption: boolean;
  buildMemoryMb: number;
  /** One app's dependency caches (BuildKit cache mounts) in MB; past it they start over (HIY_BUILD_CACHE_MB). */
  buildCacheMb: number;
  buildTimeoutSec: number;
  /** Free MB builds must leave on hiy's and the engine's disks (HIY_DISK_RESERVE_MB). */
  diskReserveMb: number;
  /** What an app's containers may write to their own file systems together (HIY_APP_DISK_MB). */
  appDiskMb: number;
  /** Seconds between two checks of the apps' writable layers (HIY_DISK_CHECK_INTERVAL). */
  diskCheckIntervalSec: number;
  /** How many releases behind the current one keep their image (rollback targets). */
  keepReleases: number;
  /** Largest `docker save` archive `hiy images:load` accepts, in MB (HIY_IMAGE_UPLOAD_MAX_MB). */
  imageUploadMaxMb: number;
  /**
   * The Docker engine hiy drives (HIY_DOCKER_HOST, else DOCKER_HOST, else the engine's usual
   * socket), as DOCKER_HOST spells it: `unix:///path`, a bare socket path or `tcp://host:port`.
   */
  dockerHost: string;
  /** The registry other nodes pull app images from (docs/nodes.md); started with the first nodes:add. */
  nodeRegistry: NodeRegistryConfig;
  /** Path of the caddy binary hiy starts when no Caddy answers on the admin address. */
  caddyBin: string;
  /** Scheme + host the CLI and docs print for the dashboard and git remote. */
  publicUrl: string;
  /** Interface Caddy's app listeners bind to; '' = all (production), tests use 127.0.0.1. */
  proxyListenHost: string;
  /**
   * Where hiy keeps the small files Caddy reads on every request to know which release of an app
   * takes new requests (src/proxy/live.ts). Must be reachable by the user Caddy runs as.
   */
  runDir: string;
  /** PATH handed to the child processes hiy starts (caddy, git). */
  pathEnv: string;
  /** Base images of generated Dockerfiles (HIY_IMAGE_NODE, HIY_IMAGE_PYTHON, HIY_IMAGE_GO, HIY_IMAGE_GO_RUNTIME, HIY_IMAGE_STATIC). */
  buildImages: BuildImages;
  /** Images of add-ons (HIY_IMAGE_POSTGRES, HIY_IMAGE_REDIS): new add-ons and upgrades run these. */
  addonImages: AddonImages;
  /** Lines of app output kept per app (a ring buffer in SQLite). */
  logLines: number;
  /** Seconds between two samples of app and host CPU/memory. */
  metricsIntervalSec: number;
  alerts: AlertConfig;
  /** Every ACME path: hiy's DNS-01 client and Caddy's HTTP-01 issuance (HIY_ACME_CA, HIY_ACME_CA_ROOT). */
  acme: AcmeSettings;
  /** HIY_TLS=dns only: where the wildcard certificate's DNS-01 records are written. */
  dns: DnsSettings | undefined;
  /** CIDRs of proxies in front of Caddy whose forwarded client addresses are believed (HIY_TRUSTED_PROXIES). */
  trustedProxies: string[];
  /** One-off runs, console sessions and cron jobs (docs/run-and-cron.md). */
  runs: RunConfig;
}

export interface NodeRegistryConfig {
  /** HIY_REGISTRY_PORT: its own port, on every interface of this box. */
  port: number;
  /** HIY_REGISTRY_HOST: the address nodes dial it at; unset: the Swarm manager's address. */
  host: string | undefined;
  /** HIY_DOCKER_CERTS_DIR: where this box's engine reads registry CAs (certs.d/<host:port>/ca.crt). */
  certsDir: string;
}

export interface RunConfig {
  /** Time zone cron schedules are read in (HIY_TZ, an IANA name); undefined: the host's. */
  timezone: string | undefined;
  /** One-off containers (runs, consoles, cron runs) one app may have at once (HIY_RUN_LIMIT). */
  maxPerApp: number;
  /** Wall-clock limit in seconds of attached runs and console sessions; 0: none (HIY_RUN_TIMEOUT). */
  attachedTimeoutSec: number;
  /** Wall-clock limit in seconds of detached runs and cron runs; 0: none (HIY_JOB_TIMEOUT). */
  detachedTimeoutSec: number;
}

export type AlertFormat = 'json' | 'ntfy' | 'telegram';

/** When an incident opens, and where its notification goes (see docs/logs-and-metrics.md). */
export interface AlertConfig {
  /** http(s) URL notifications are POSTed to; unset = alerts are only visible in the API. */
  webhook: string | undefined;
  format: AlertFormat;
  diskPct: number;
  memoryPct: number;
  /** An app whose health check fails for this long is an incident. */
  healthAfterSec: number;
  /** Seconds between two health probes of every app. */
  checkIntervalSec: number;
  /** Restarts within 5 minutes that make a crash loop. */
  crashRestarts: number;
}

export type Env = Record<string, string | undefined>;

/**
 * The HIY_* assignments of an env file (systemd EnvironmentFile syntax, /etc/hiy/hiy.env),
 * parsed, never evaluated. Only lines `HIY_NAME=value` count; surrounding double quotes are dropped.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(HIY_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

function fail(name: string, message: string): never {
  throw new HiyError('config', `${name}: ${message}`);
}

function parsePort(name: string, raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) fail(name, `"${raw}" is not a port number (1-65535)`);
  const port = Number(raw);
  if (port < 1 || port > 65535) fail(name, `${port} is out of range (1-65535)`);
  return port;
}

function parseInteger(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) fail(name, `"${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) fail(name, `${n} is out of range (${min}-${max})`);
  return n;
}

export function parseHostPort(name: string, raw: string): HostPort {
  // "[::1]:3000", "127.0.0.1:3000", "localhost:3000" or a bare port.
  const bare = /^\d+$/.test(raw);
  if (bare) return { host: '127.0.0.1', port: parsePort(name, raw) };
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(raw);
  if (!m) fail(name, `"${raw}" is not host:port (for example 127.0.0.1:3000)`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port: parsePort(name, m[2]!) };
}

/** HIY_CADDY_ADMIN: `unix:/abs/path.sock`, or host:port (TCP, reachable by every local user). */
export function parseCaddyAdmin(raw: string): CaddyAdminAddress {
  if (!raw.startsWith('unix:')) return parseHostPort('HIY_CADDY_ADMIN', raw);
  const socket = raw.slice('unix:'.length);
  if (!isAbsolute(socket) || /[\s\0]/.test(socket)) fail('HIY_CADDY_ADMIN', `"${raw.slice(0, 120)}" is not unix:<absolute path> (for example unix:/run/hiy/caddy-admin/admin.sock)`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) fail('HIY_CADDY_ADMIN', `the socket path ${socket.slice(0, 120)} is longer than ${MAX_SOCKET_PATH} bytes`);
  return { socket: resolve(socket) };
}

const DOMAIN_RE = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function loadConfig(env: Env): Config {
  const domain = (env.HIY_DOMAIN ?? 'localhost').toLowerCase();
  if (!DOMAIN_RE.test(domain)) fail('HIY_DOMAIN', `"${domain}" is not a domain name (for example pi.example.com)`);

  const tlsRaw = env.HIY_TLS ?? (isLocalDomain(domain) ? 'internal' : 'auto');
  if (tlsRaw !== 'auto' && tlsRaw !== 'dns' && tlsRaw !== 'internal' && tlsRaw !== 'off') {
    fail('HIY_TLS', `"${tlsRaw}" is not one of auto, dns, internal, off`);
  }
  if (tlsRaw === 'dns' && (isLocalDomain(domain) || !domain.includes('.'))) {
    fail('HIY_TLS', `dns needs a public domain in HIY_DOMAIN (a CA cannot certify "${domain}")`);
  }
  const readableFile = readableFileChecker(fail);

  const adminToken = env.HIY_ADMIN_TOKEN === '' ? undefined : env.HIY_ADMIN_TOKEN;
  if (adminToken !== undefined && (adminToken.length < 32 || adminToken.length > 256 || !/^[\x21-\x7e]+$/.test(adminToken))) {
    fail('HIY_ADMIN_TOKEN', 'must be 32-256 printable characters without spaces');
  }

  const logLevel = env.HIY_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    fail('HIY_LOG_LEVEL', `"${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }

  const runtime = (env.HIY_RUNTIME || 'auto') as RuntimeMode;
  if (!['auto', 'docker', 'swarm'].includes(runtime)) fail('HIY_RUNTIME', `"${runtime.slice(0, 40)}" is not one of auto, docker, swarm`);

  const overlayEncryption = env.HIY_OVERLAY_ENCRYPTION ?? 'on';
  if (overlayEncryption !== 'on' && overlayEncryption !== 'off') fail('HIY_OVERLAY_ENCRYPTION', `"${overlayEncryption.slice(0, 40)}" is not one of on, off`);

  const httpPort = parsePort('HIY_HTTP_PORT', env.HIY_HTTP_PORT ?? '80');
  const httpsPort = parsePort('HIY_HTTPS_PORT', env.HIY_HTTPS_PORT ?? '443');
  const tls = tlsRaw;
  const publicUrl = tls === 'off'
    ? `http://hiy.${domain}${httpPort === 80 ? '' : `:${httpPort}`}`
    : `https://hiy.${domain}${httpsPort === 443 ? '' : `:${httpsPort}`}`;

  const dataDir = resolve(env.HIY_DATA_DIR ?? join(env.HOME ?? homedir(), '.hiy'));
  const runDir = env.HIY_RUN_DIR ?? (process.getuid?.() === 0 ? '/run/hiy' : join(dataDir, 'run'));
  if (!isAbsolute(runDir) || runDir.includes('\n')) fail('HIY_RUN_DIR', `"${runDir.slice(0, 100)}" is not an absolute path`);

  return {
    dataDir,
    domain,
    listen: parseHostPort('HIY_LISTEN', env.HIY_LISTEN ?? '127.0.0.1:3000'),
    // Default: a socket in a folder of the run dir that only Caddy's user may enter.
    caddyAdmin: parseCaddyAdmin(env.HIY_CADDY_ADMIN || `unix:${join(resolve(runDir), 'caddy-admin', 'admin.sock')}`),
    caddyAdminLegacy: !env.HIY_CADDY_ADMIN && !env.HIY_RUN_DIR && process.getuid?.() === 0 ? { host: '127.0.0.1', port: 2019 } : undefined,
    httpPort,
    httpsPort,
    tls,
    adminToken,
    logLevel,
    slotPortBase: parseInteger('HIY_SLOT_PORT_BASE', env.HIY_SLOT_PORT_BASE, 20000, 1024, 64000),
    runtime,
    overlayEncryption: overlayEncryption === 'on',
    swarmNodeEngines: (env.HIY_SWARM_NODE_ENGINES ?? '').split(',').map((e) => e.trim()).filter(Boolean),
    buildMemoryMb: parseInteger('HIY_BUILD_MEMORY_MB', env.HIY_BUILD_MEMORY_MB, 1024, 64, 65536),
    buildCacheMb: parseInteger('HIY_BUILD_CACHE_MB', env.HIY_BUILD_CACHE_MB, 512, 0, 1_000_000),
    buildTimeoutSec: parseInteger('HIY_BUILD_TIMEOUT', env.HIY_BUILD_TIMEOUT, 900, 5, 86400),
    diskReserveMb: parseInteger('HIY_DISK_RESERVE_MB', env.HIY_DISK_RESERVE_MB, 1024, 0, 10_000_000),
    appDiskMb: parseInteger('HIY_APP_DISK_MB', env.HIY_APP_DISK_MB, 2048, 16, 10_000_000),
    diskCheckIntervalSec: parseInteger('HIY_DISK_CHECK_INTERVAL', env.HIY_DISK_CHECK_INTERVAL, 60, 2, 3600),
    keepReleases: parseInteger('HIY_KEEP_RELEASES', env.HIY_KEEP_RELEASES, 2, 0, 100),
    imageUploadMaxMb: parseInteger('HIY_IMAGE_UPLOAD_MAX_MB', env.HIY_IMAGE_UPLOAD_MAX_MB, 2048, 1, 65536),
    dockerHost: parseDockerHost(env),
    nodeRegistry: {
      port: parseInteger('HIY_REGISTRY_PORT', env.HIY_REGISTRY_PORT, 5443, 1, 65535),
      host: parseRegistryHost(env.HIY_REGISTRY_HOST),
      certsDir: parseAbsolute('HIY_DOCKER_CERTS_DIR', env.HIY_DOCKER_CERTS_DIR || '/etc/docker/certs.d'),
    },
    caddyBin: env.HIY_CADDY_BIN ?? 'caddy',
    publicUrl,
    proxyListenHost: parseListenHost(env.HIY_PROXY_HOST ?? ''),
    runDir: resolve(runDir),
    pathEnv: env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    buildImages: buildImagesFromEnv(env, fail),
    addonImages: addonImagesFromEnv(env, fail),
    logLines: parseInteger('HIY_LOG_LINES', env.HIY_LOG_LINES, 10_000, 10, 1_000_000),
    metricsIntervalSec: parseInteger('HIY_METRICS_INTERVAL', env.HIY_METRICS_INTERVAL, 10, 1, 300),
    alerts: loadAlertConfig(env),
    acme: acmeFromEnv(env, fail, readableFile),
    dns: tlsRaw === 'dns' ? dnsFromEnv(env, fail, readableFile, parseHostPort) : undefined,
    trustedProxies: parseTrusted(env.HIY_TRUSTED_PROXIES ?? ''),
    runs: loadRunConfig(env),
  };
}

function loadRunConfig(env: Env): RunConfig {
  const timezone = env.HIY_TZ === '' ? undefined : env.HIY_TZ;
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      fail('HIY_TZ', `"${timezone}" is not a time zone name (for example Europe/Berlin or UTC)`);
    }
  }
  return {
    timezone,
    maxPerApp: parseInteger('HIY_RUN_LIMIT', env.HIY_RUN_LIMIT, 3, 1, 50),
    attachedTimeoutSec: parseInteger('HIY_RUN_TIMEOUT', env.HIY_RUN_TIMEOUT, 0, 0, 7 * 86_400),
    detachedTimeoutSec: parseInteger('HIY_JOB_TIMEOUT', env.HIY_JOB_TIMEOUT, 3600, 0, 7 * 86_400),
  };
}

function parseTrusted(raw: string): string[] {
  try {
    return parseTrustedProxies(raw);
  } catch (err) {
    fail('HIY_TRUSTED_PROXIES', (err as Error).message);
  }
}

function loadAlertConfig(env: Env): AlertConfig {
  const webhook = env.HIY_ALERT_WEBHOOK === '' ? undefined : env.HIY_ALERT_WEBHOOK;
  if (webhook !== undefined) {
    let url: URL | undefined;
    try { url = new URL(webhook); } catch { /* reported below */ }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail('HIY_ALERT_WEBHOOK', 'must be an http:// or https:// URL');
  }
  const format = env.HIY_ALERT_FORMAT ?? 'json';
  if (format !== 'json' && format !== 'ntfy' && format !== 'telegram') fail('HIY_ALERT_FORMAT', `"${format}" is not one of json, ntfy, telegram`);
  return {
    webhook,
    format,
    diskPct: parseInteger('HIY_ALERT_DISK_PCT', env.HIY_ALERT_DISK_PCT, 80, 1, 100),
    memoryPct: parseInteger('HIY_ALERT_MEMORY_PCT', env.HIY_ALERT_MEMORY_PCT, 85, 1, 100),
    healthAfterSec: parseInteger('HIY_ALERT_HEALTH_AFTER', env.HIY_ALERT_HEALTH_AFTER, 120, 1, 86_400),
    checkIntervalSec: parseInteger('HIY_ALERT_CHECK_INTERVAL', env.HIY_ALERT_CHECK_INTERVAL, 15, 1, 3600),
    crashRestarts: parseInteger('HIY_ALERT_CRASH_RESTARTS', env.HIY_ALERT_CRASH_RESTARTS, 3, 1, 1000),
  };
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * HIY_DOCKER_HOST, or a DOCKER_HOST in hiy's environment when that is unset (the docker CLI's own
 * variable, so an operator's existing setting keeps working). TLS engines (https://, ssh://) are
 * refused: hiy drives a local engine or one on a trusted link.
 */
function parseDockerHost(env: Env): string {
  const name = env.HIY_DOCKER_HOST ? 'HIY_DOCKER_HOST' : 'DOCKER_HOST';
  const raw = env.HIY_DOCKER_HOST || env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const socket = raw.startsWith('unix://') ? raw.slice('unix://'.length) : raw.startsWith('/') ? raw : undefined;
  if (socket !== undefined) {
    if (!isAbsolute(socket) || /[\s\0]/.test(socket)) fail(name, `"${raw.slice(0, 120)}" is not unix:///<absolute path>`);
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) fail(name, `the socket path ${socket.slice(0, 120)} is longer than ${MAX_SOCKET_PATH} bytes`);
    return `unix://${resolve(socket)}`;
  }
  if (/^(tcp|http):\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\]):\d{1,5}\/?$/.test(raw)) return raw.replace(/\/$/, '');
  fail(name, `"${raw.slice(0, 120)}" is not an engine address hiy can use (unix:///var/run/docker.sock or tcp://host:port; TLS and ssh:// are not supported)`);
}

function parseRegistryHost(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^[0-9.]+$/.test(raw) || /^[0-9a-fA-F:]+$/.test(raw) || DOMAIN_RE.test(raw)) return raw;
  fail('HIY_REGISTRY_HOST', `"${raw.slice(0, 100)}" is not an address or host name the nodes can dial`);
}

function parseAbsolute(name: string, raw: string): string {
  if (!isAbsolute(raw) || /[\n\0]/.test(raw)) fail(name, `"${raw.slice(0, 100)}" is not an absolute path`);
  return resolve(raw);
}

function parseListenHost(raw: string): string {
  if (raw === '' || /^[0-9.]+$/.test(raw) || /^[0-9a-fA-F:]+$/.test(raw)) return raw;
  fail('HIY_PROXY_HOST', `"${raw}" is not an IP address (empty = all interfaces)`);
}

export function isLocalDomain(domain: string): boolean {
  return domain === 'localhost' || domain.endsWith('.localhost');
}
