import type { CommandTable } from '../command.js';
import { formatPairs, formatTable, formatTime } from '../format.js';

interface Served {
  hosts: string[];
  names: string[];
  issuer: string;
  not_after: string;
  trusted: boolean;
  trust_error: string | null;
  managed_by: 'hiy' | 'caddy';
}

interface Wildcard {
  names: string[];
  provider: string;
  directory: string;
  certificate: { serial: string; issuer: string; not_after: string } | null;
  renew_at: string | null;
  renewing: boolean;
  last_attempt_at: string | null;
  last_result: 'ok' | 'failed' | null;
  last_error: string | null;
  failures: number;
  next_attempt_at: string | null;
}

interface CertsAnswer {
  mode: string;
  wildcard: Wildcard | null;
  certificates: Served[];
  problems: { host: string; error: string }[];
}

function showWildcard(w: Wildcard): string {
  const last = w.last_result === null ? 'never tried'
    : w.last_result === 'ok' ? `ok (${formatTime(w.last_attempt_at)})`
      : `FAILED ${w.failures}× in a row (${formatTime(w.last_attempt_at)}): ${w.last_error ?? ''}`;
  return formatPairs([
    ['Wildcard', w.names.join(', ')],
    ['DNS', w.provider],
    ['CA', w.directory],
    ['Expires', w.certificate ? formatTime(w.certificate.not_after) : 'no certificate yet'],
    ['Renews', w.renewing ? 'now' : formatTime(w.last_result === 'failed' ? w.next_attempt_at : w.renew_at)],
    ['Last renewal', last],
  ]);
}

function show(res: CertsAnswer): string {
  let out = `TLS mode: ${res.mode}\n`;
  if (res.wildcard) out += `\n${showWildcard(res.wildcard)}`;
  if (res.certificates.length) {
    out += `\n${formatTable(['HOSTS', 'NAMES', 'ISSUER', 'EXPIRES', 'BY', 'TRUSTED'], res.certificates.map((c) => [
      c.hosts.join(' '), c.names.join(' '), c.issuer, formatTime(c.not_after), c.managed_by, c.trusted ? 'yes' : `no (${c.trust_error ?? ''})`,
    ]))}`;
  }
  if (res.problems.length) out += `\n${formatTable(['HOST', 'NO CERTIFICATE'], res.problems.map((p) => [p.host, p.error]))}`;
  return out;
}

export const certCommands: CommandTable = {
  certs: {
    usage: '',
    summary: 'Every certificate Caddy serves: hosts, names, issuer, expiry; the wildcard\'s last renewal',
    details: 'Asks Caddy for the certificate of every host hiy routes (hiy.<domain>, each app, custom\n'
      + 'domains). With HIY_TLS=dns it also shows hiy\'s own wildcard certificate and its renewal state.',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<CertsAnswer>('GET', '/certs');
      ctx.print(res, () => show(res));
    },
  },

  ca: {
    usage: '',
    summary: 'Print the root certificate of hiy\'s own CA (HIY_TLS=internal), to trust on a LAN',
    details: 'With HIY_TLS=internal Caddy signs every certificate with its own CA. Trust its root once:\n'
      + '  hiy ca > hiy-root.crt\n'
      + '  git config --global http.https://hiy.<domain>/.sslCAInfo $PWD/hiy-root.crt   # git push\n'
      + '  export NODE_EXTRA_CA_CERTS=$PWD/hiy-root.crt                                 # this CLI\n'
      + 'and import it into the browser as a certificate authority. On the box itself, where the\n'
      + 'CLI talks to http://127.0.0.1:3000, no trust is needed yet (docs/setup.md, "LAN only").',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<{ tls: string; root_certificate: string }>('GET', '/certs/ca');
      ctx.print(res, () => res.root_certificate.endsWith('\n') ? res.root_certificate : `${res.root_certificate}\n`);
    },
  },

  'certs:renew': {
    usage: '',
    summary: 'Renew the wildcard certificate now (HIY_TLS=dns), whatever its schedule',
    args: [0, 0],
    async run(ctx) {
      const res = await ctx.api().request<{ wildcard: Wildcard }>('POST', '/certs/renew');
      ctx.print(res, () => `Renewed.\n${showWildcard(res.wildcard)}`);
    },
  },
};
