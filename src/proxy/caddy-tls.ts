/**
 * The TLS parts of hiy's Caddy config (caddy-config.ts builds the rest): which issuer Caddy orders
 * certificates from, hiy's own wildcard certificate with HIY_TLS=dns, and the hosts Caddy must
 * not order certificates for because that wildcard covers them.
 */
import type { TlsMode } from '../config.js';
import type { JsonObject } from './caddy-json.js';

/** What the TLS parts are made from (a part of CaddyConfigOptions). */
export interface TlsOptions {
  tls: TlsMode;
  domain: string;
  /** Caddy's ACME issuer for HTTP-01 (HIY_ACME_CA, HIY_ACME_CA_ROOT); undefined = Caddy's defaults. */
  acmeIssuer?: { ca: string; trustedRootsPemFile?: string };
  /** HIY_TLS=dns: hiy's wildcard certificate (and key), loaded into Caddy as is. */
  certificates?: LoadedCertificate[];
}

export interface LoadedCertificate {
  certificate: string;
  key: string;
}

/** Whether `host` is served by a certificate for `*.domain` + `domain`. */
export function coveredByWildcard(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  if (h === domain) return true;
  if (!h.endsWith(`.${domain}`)) return false;
  const label = h.slice(0, -domain.length - 1);
  return label.length > 0 && !label.includes('.');
}

/**
 * dns: hiy's wildcard serves every host it covers, so Caddy orders none per app, also not while
 * the wildcard is still being obtained. Custom domains outside it keep HTTP-01.
 */
export function skippedCertificates(opts: Pick<TlsOptions, 'tls' | 'domain'>, hosts: string[]): string[] | undefined {
  return opts.tls === 'dns' ? hosts.filter((h) => coveredByWildcard(h, opts.domain)) : undefined;
}

/** The issuer of every certificate Caddy orders itself (HTTP-01 / TLS-ALPN-01). */
function acmePolicies(opts: TlsOptions): JsonObject[] {
  if (!opts.acmeIssuer) return []; // Caddy's defaults: Let's Encrypt, then ZeroSSL
  const issuer: JsonObject = { module: 'acme', ca: opts.acmeIssuer.ca };
  if (opts.acmeIssuer.trustedRootsPemFile) issuer.trusted_roots_pem_files = [opts.acmeIssuer.trustedRootsPemFile];
  return [{ issuers: [issuer] }];
}

/**
 * apps.tls: Caddy's issuers, hiy's wildcard (dns) or the local CA (internal); undefined = no TLS.
 * App hosts and custom domains are in no host matcher (they are files, caddy-config.ts), so Caddy
 * gets their certificates on demand, at the first handshake for a name, and only for names hiy
 * confirms at `askUrl`: a name nobody routed there gets no certificate. hiy.<domain> is in a host
 * matcher and is ordered ahead as before (auto), or comes with hiy's wildcard (dns).
 */
export function tlsApp(opts: TlsOptions, hiyHost: string, askUrl: string): JsonObject | undefined {
  if (opts.tls === 'off') return undefined;
  const onDemand = { on_demand: { ask: askUrl } };
  if (opts.tls === 'internal') {
    return {
      automation: {
        policies: [{
          issuers: [{ module: 'internal' }],
          on_demand: true,
          // The local CA runs no OCSP responder: stapling would only log a warning per certificate.
          disable_ocsp_stapling: true,
        }],
        ...onDemand,
      },
    };
  }
  const issuers = acmePolicies(opts)[0] ?? {};
  const policies: JsonObject[] = [];
  if (opts.tls === 'auto') policies.push({ subjects: [hiyHost], ...issuers });
  policies.push({ ...issuers, on_demand: true });
  const app: JsonObject = { automation: { policies, ...onDemand } };
  if (opts.tls === 'dns' && opts.certificates?.length) {
    app.certificates = { load_pem: opts.certificates.map((c) => ({ certificate: c.certificate, key: c.key, tags: ['hiy-wildcard'] })) };
  }
  return app;
}
