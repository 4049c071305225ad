/**
 * What Caddy really serves: one TLS handshake per host hiy routes, on Caddy's HTTPS port over
 * loopback. It covers every certificate whoever manages it (hiy's wildcard, Caddy's HTTP-01 ones
 * for custom domains or HIY_TLS=auto, the local CA), wherever Caddy keeps its storage.
 */
import { connect, rootCertificates } from 'node:tls';
import { commonName, sanNames } from './cert-store.js';

export interface ServedCert {
  hosts: string[];
  names: string[];
  issuer: string;
  serial: string;
  not_before: string;
  not_after: string;
  fingerprint: string;
  /** Whether this host's trust store (plus HIY_ACME_CA's test root, if set) accepts the chain. */
  trusted: boolean;
  trust_error: string | null;
}

export interface HostProblem {
  host: string;
  error: string;
}

const HANDSHAKE_TIMEOUT_MS = 5_000;

export async function servedCertificates(opts: { host: string; port: number; hosts: string[]; extraCa?: string; concurrency?: number }): Promise<{ certificates: ServedCert[]; problems: HostProblem[] }> {
  const byFingerprint = new Map<string, ServedCert>();
  const problems: HostProblem[] = [];
  const queue = [...new Set(opts.hosts)];
  const worker = async () => {
    for (let h = queue.shift(); h !== undefined; h = queue.shift()) {
      const name = h;
      try {
        const c = await handshake(opts.host, opts.port, name, opts.extraCa);
        const seen = byFingerprint.get(c.fingerprint);
        if (seen) seen.hosts.push(name);
        else byFingerprint.set(c.fingerprint, c);
      } catch (err) {
        problems.push({ host: name, error: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  const certificates = [...byFingerprint.values()];
  for (const c of certificates) c.hosts.sort();
  certificates.sort((a, b) => (a.hosts[0] ?? '').localeCompare(b.hosts[0] ?? ''));
  problems.sort((a, b) => a.host.localeCompare(b.host));
  return { certificates, problems };
}

function handshake(host: string, port: number, servername: string, extraCa: string | undefined): Promise<ServedCert> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername,
      rejectUnauthorized: false,
      ...(extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
      ALPNProtocols: ['http/1.1'],
      timeout: HANDSHAKE_TIMEOUT_MS,
    }, () => {
      const x = socket.getPeerX509Certificate();
      const authError = socket.authorizationError;
      socket.destroy();
      if (!x) return reject(new Error('no certificate'));
      resolve({
        hosts: [servername],
        names: sanNames(x.subjectAltName),
        issuer: commonName(x.issuer),
        serial: x.serialNumber.toLowerCase(),
        not_before: new Date(x.validFrom).toISOString(),
        not_after: new Date(x.validTo).toISOString(),
        fingerprint: x.fingerprint256,
        trusted: socket.authorized,
        trust_error: socket.authorized ? null : String(authError ?? 'not trusted'),
      });
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS answer within ${HANDSHAKE_TIMEOUT_MS} ms`)));
    socket.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'ECONNRESET' || /alert/i.test(err.message) ? `Caddy has no certificate for this host yet (${err.code ?? err.message})` : err.message)));
  });
}
