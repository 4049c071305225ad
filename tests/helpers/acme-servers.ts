/**
 * Real ACME test servers from Debian, on loopback ports of the test's own: Let's Encrypt's
 * `pebble` (ACME), `pebble-challtestsrv` (a DNS server whose records tests set over HTTP) and
 * `knotd` (an authoritative DNS server taking RFC 2136 updates signed with TSIG). Each runs as a
 * child of the test and is stopped by its pid; their files live in the test's temp dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from '../../harness/ports.js';

const run = promisify(execFile);

interface Child {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a server and waits until its output matches `ready` (or fails with the output). */
async function startChild(bin: string, args: string[], env: Record<string, string>, ready: RegExp, name: string, timeoutMs = 15_000): Promise<Child> {
  const proc = spawn(bin, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  const gone = new Promise<void>((resolve) => proc.once('close', () => { exited = true; resolve(); }));
  const ok = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('error', reject);
    void gone.then(() => reject(new Error(`${name} exited during start:\n${out}`)));
    setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs).unref();
  });
  const child: Child = {
    proc,
    output: () => out,
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
  try {
    await ok;
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}

export interface Pebble {
  directory: string;
  /** PEM file of the root pebble's own HTTPS listener uses (what HIY_ACME_CA_ROOT names). */
  listenerRootFile: string;
  /** The root pebble issues certificates under (a fresh one per start). */
  issuanceRoot(): Promise<string>;
  /** How many certificates pebble has issued so far. */
  issued(): number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * pebble with its HTTPS listener on a certificate made here (Debian's package ships none), the
 * challenge ports pointed at hiy's Caddy (HTTP-01 on httpPort, TLS-ALPN-01 on tlsPort), DNS
 * through `dnsServer`, certificates valid for `validitySec`, no random validation sleeps, no
 * rejected nonces and no reuse of earlier validations (every order proves control again).
 */
export async function startPebble(dir: string, opts: { dnsServer: string; httpPort?: number; tlsPort?: number; validitySec?: number }): Promise<Pebble> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'pebble-listener.pem');
  const key = join(dir, 'pebble-listener.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=pebble listener', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
  const [listen, mgmt, spareHttp, spareTls] = await freePorts(4);
  const config = join(dir, 'pebble.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${mgmt}`,
      certificate: cert,
      privateKey: key,
      httpPort: opts.httpPort ?? spareHttp,
      tlsPort: opts.tlsPort ?? spareTls,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySec ? { certificateValidityPeriod: opts.validitySec } : {}),
    },
  }));
  const child = await startChild('pebble', ['-config', config, '-dnsserver', opts.dnsServer],
    { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' }, /ACME directory available at/, 'pebble');
  return {
    directory: `https://127.0.0.1:${listen}/dir`,
    listenerRootFile: cert,
    async issuanceRoot() {
      const { stdout } = await run('curl', ['-sS', '--fail', '--cacert', cert, `https://127.0.0.1:${mgmt}/roots/0`]);
      return stdout;
    },
    issued: () => (child.output().match(/Issued certificate serial/g) ?? []).length,
    output: child.output,
    stop: child.stop,
  };
}

export interface ChallTestSrv {
  /** host:port of its DNS server (answers A with 127.0.0.1 for every name). */
  dns: string;
  setTxt(fqdn: string, value: string): Promise<void>;
  clearTxt(fqdn: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startChallTestSrv(): Promise<ChallTestSrv> {
  const [dns, mgmt] = await freePorts(2);
  const child = await startChild('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
    '-management', `127.0.0.1:${mgmt}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
  ], {}, /Starting management server/, 'pebble-challtestsrv');
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${mgmt}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`challtestsrv ${path}: HTTP ${res.status}`);
  };
  return {
    dns: `127.0.0.1:${dns}`,
    setTxt: (fqdn, value) => post('/set-txt', { host: `${fqdn}.`, value }),
    clearTxt: (fqdn) => post('/clear-txt', { host: `${fqdn}.` }),
    stop: child.stop,
  };
}

export interface Knot {
  /** host:port (UDP and TCP). */
  server: string;
  keyName: string;
  /** The base64 TSIG secret. */
  secret: string;
  output(): string;
  stop(): Promise<void>;
}

/** knotd authoritative for `zone` (every name in it resolves to 127.0.0.1), updatable with one TSIG key. */
export async function startKnot(dir: string, zone: string): Promise<Knot> {
  mkdirSync(join(dir, 'db'), { recursive: true });
  const [port] = await freePorts(1);
  const secret = randomBytes(32).toString('base64');
  const keyName = 'hiy-acme.';
  writeFileSync(join(dir, `${zone}.zone`), [
    `$ORIGIN ${zone}.`, '$TTL 60',
    `@ SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 5`,
    '@ NS ns', 'ns A 127.0.0.1', '@ A 127.0.0.1', '* A 127.0.0.1', '',
  ].join('\n'));
  writeFileSync(join(dir, 'knot.conf'), [
    'server:', `    rundir: "${dir}"`, `    listen: 127.0.0.1@${port}`,
    'log:', '  - target: stderr', '    any: info',
    'database:', `    storage: "${join(dir, 'db')}"`,
    'key:', `  - id: ${keyName}`, '    algorithm: hmac-sha256', `    secret: ${secret}`,
    'acl:', '  - id: hiy-update', `    key: ${keyName}`, '    action: update',
    'template:', '  - id: default', `    storage: "${dir}"`, '    file: "%s.zone"', '    zonefile-sync: -1', '    journal-content: all',
    'zone:', `  - domain: ${zone}`, '    acl: hiy-update', '',
  ].join('\n'));
  const child = await startChild('knotd', ['-c', join(dir, 'knot.conf')], {}, /server started/, 'knotd');
  return { server: `127.0.0.1:${port}`, keyName, secret, output: child.output, stop: child.stop };
}
