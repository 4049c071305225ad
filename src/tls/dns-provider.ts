/** Where hiy writes the TXT records of DNS-01 challenges. Two adapters: Cloudflare's API and RFC 2136. */
export interface DnsProvider {
  /** For messages: "Cloudflare", "the name server 192.0.2.1:53 (RFC 2136)". */
  readonly name: string;
  /** Adds one TXT record; other records of the same name stay (a wildcard and its apex share one). */
  add(fqdn: string, value: string): Promise<void>;
  /** Removes exactly the record `add` made. */
  remove(fqdn: string, value: string): Promise<void>;
}

/** `_acme-challenge.<name>` for an identifier (a wildcard's record sits at its base name). */
export function challengeName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
}
