/**
 * DNS-01 records by RFC 2136 dynamic update, signed with a TSIG key, through Debian's `nsupdate`
 * (bind9-dnsutils): a well-kept client that works with bind9, Knot, PowerDNS and hosted DNS. The
 * secret is read from its file and handed to nsupdate on its standard input (the `key` command):
 * never on a command line (visible in ps) or in the child's environment.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HiyError } from '../errors.js';
import type { DnsProvider } from './dns-provider.js';
import type { Rfc2136Settings } from '../tls-settings.js';

const NSUPDATE_TIMEOUT_S = 20;
const VISIBLE_TIMEOUT_MS = 60_000;
const NAME_RE = /^[a-z0-9_.-]{1,253}$/i;

export interface Rfc2136Options extends Pick<Rfc2136Settings, 'server' | 'keyName' | 'keyAlgorithm' | 'keyFile'> {
  /** PATH for nsupdate. */
  pathEnv: string;
  nsupdateBin?: string;
}

export function rfc2136Provider(s: Rfc2136Options): DnsProvider {
  const where = `${s.server.host.includes(':') ? `[${s.server.host}]` : s.server.host}:${s.server.port}`;
  const name = `the name server ${where} (RFC 2136)`;

  async function secret(): Promise<string> {
    let raw: string;
    try {
      raw = (await readFile(s.keyFile, 'utf8')).trim();
    } catch (err) {
      throw new HiyError('config', `cannot read the TSIG key file ${s.keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // Only base64: anything else could smuggle another nsupdate command through the newline.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) throw new HiyError('config', `the TSIG key file ${s.keyFile} does not hold a base64 secret`);
    return raw;
  }

  async function update(verb: 'add' | 'delete', fqdn: string, value: string): Promise<void> {
    if (!NAME_RE.test(fqdn) || !/^[A-Za-z0-9_-]{1,200}$/.test(value)) throw new HiyError('internal', `refusing to write an unexpected record ${fqdn.slice(0, 100)}`);
    const script = [
      `server ${s.server.host} ${s.server.port}`,
      `key ${s.keyAlgorithm}:${s.keyName} ${await secret()}`,
      verb === 'add' ? `update add ${fqdn}. 60 TXT "${value}"` : `update delete ${fqdn}. TXT "${value}"`,
      'send',
      '',
    ].join('\n');
    const out = await runNsupdate(s.nsupdateBin ?? 'nsupdate', s.pathEnv, script);
    if (out.code !== 0) {
      const reason = out.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join(' / ') || `exit code ${out.code}`;
      throw new HiyError('unavailable', `${name} refused to ${verb === 'add' ? 'add' : 'delete'} the TXT record ${fqdn}: ${reason}`);
    }
  }

  /** The primary answers with the new record before the CA is asked to look for it. */
  async function waitVisible(fqdn: string, value: string): Promise<void> {
    const ip = isIP(s.server.host) ? s.server.host : (await lookup(s.server.host)).address;
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([isIP(ip) === 6 ? `[${ip}]:${s.server.port}` : `${ip}:${s.server.port}`]);
    const deadline = Date.now() + VISIBLE_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const txt = await resolver.resolveTxt(fqdn);
        if (txt.some((chunks) => chunks.join('') === value)) return;
        last = 'the record is not there yet';
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      await sleep(500);
    }
    throw new HiyError('unavailable', `${name} accepted the TXT record ${fqdn} but does not answer with it (${last})`);
  }

  return {
    name,
    async add(fqdn, value) {
      await update('add', fqdn, value);
      await waitVisible(fqdn, value);
    },
    async remove(fqdn, value) {
      await update('delete', fqdn, value);
    },
  };
}

function runNsupdate(bin: string, pathEnv: string, script: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    // -v: TCP (updates are larger than a DNS query, and TCP is what secondaries-friendly setups expect).
    const child = spawn(bin, ['-v', '-t', String(NSUPDATE_TIMEOUT_S)], { env: { PATH: pathEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { if (stderr.length < 4000) stderr += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), (NSUPDATE_TIMEOUT_S + 10) * 1000);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(killer);
      reject(err.code === 'ENOENT'
        ? new HiyError('config', `${bin} is not installed: RFC 2136 updates need Debian's bind9-dnsutils (apt-get install bind9-dnsutils)`)
        : new HiyError('unavailable', `could not run ${bin}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? 1, stderr });
    });
    child.stdin.on('error', () => undefined); // nsupdate gone early: its exit code tells
    child.stdin.end(script);
  });
}
