/**
 * HIY_TRUSTED_PROXIES: the proxies in front of Caddy (Cloudflare's edge, a load balancer) whose
 * X-Forwarded-For / CF-Connecting-IP are believed. Caddy keeps their X-Forwarded-For (its
 * reverse_proxy `trusted_proxies`) and hiy reads the client from it (clientAddress); from any
 * other peer both headers are ignored, so a client talking to the box directly cannot pose as
 * someone else.
 */
import { BlockList, isIP } from 'node:net';

/**
 * Cloudflare's published edge ranges (https://www.cloudflare.com/ips/, the same list their
 * /client/v4/ips endpoint returns). They change rarely; an operator who needs a newer list can
 * name CIDRs in HIY_TRUSTED_PROXIES next to `cloudflare`.
 */
export const CLOUDFLARE_RANGES: readonly string[] = [
  '173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22', '141.101.64.0/18',
  '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20', '197.234.240.0/22', '198.41.128.0/17',
  '162.158.0.0/15', '104.16.0.0/13', '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22',
  '2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32', '2405:8100::/32',
  '2a06:98c0::/29', '2c0f:f248::/32',
];

/** `cloudflare` and/or CIDRs (or single addresses), comma separated; throws a message on a bad entry. */
export function parseTrustedProxies(raw: string): string[] {
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (item.toLowerCase() === 'cloudflare') {
      out.push(...CLOUDFLARE_RANGES);
      continue;
    }
    const [addr, bits, extra] = item.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new Error(`"${item.slice(0, 60)}" is neither "cloudflare" nor an IP address or CIDR range`);
    }
    out.push(bits === undefined ? `${addr}/${max}` : `${addr}/${bits}`);
  }
  return [...new Set(out)];
}

export interface TrustedProxies {
  readonly ranges: readonly string[];
  has(ip: string): boolean;
}

export function trustedProxies(ranges: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const r of ranges) {
    const [addr, bits] = r.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr!, Number(bits), family);
  }
  return {
    ranges,
    has(ip) {
      const plain = unmapped(ip);
      const family = isIP(plain);
      return family !== 0 && ranges.length > 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && LOOPBACK.has(ip);
}

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) as `1.2.3.4`. */
function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

type HeaderGetter = (name: string) => string | undefined;

/**
 * The client's address for throttling, fail2ban and logs. `peer` is the TCP peer of hiy's own
 * listener: only when it is loopback (the local Caddy) are forwarded headers read at all. Caddy
 * sets X-Forwarded-For to its own peer, keeping the earlier list only when that peer is a trusted
 * proxy; so the list is walked from the right past trusted proxies, and the first address that is
 * not one is the client. CF-Connecting-IP is taken when the peer Caddy saw is a trusted proxy.
 */
export function clientAddress(peer: string | undefined, header: HeaderGetter, trusted: TrustedProxies): string | undefined {
  if (!isLoopback(peer)) return peer;
  const chain = (header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter((s) => isIP(s) !== 0);
  const caddyPeer = chain[chain.length - 1];
  if (caddyPeer === undefined) return peer;
  if (!trusted.has(caddyPeer)) return caddyPeer;
  const cf = header('cf-connecting-ip')?.trim();
  if (cf && isIP(cf)) return cf;
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!trusted.has(chain[i]!)) return chain[i];
  }
  return chain[0];
}
