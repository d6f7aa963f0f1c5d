/**
 * SSRF rules (docs/delivery.md#ssrf-rules): which destination addresses a webhook may reach. An address is
 * refused unless it is globally routable or inside the operator's allowlist
 * (`RUNHOOK_ALLOWED_CIDRS`). IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64,
 * 6to4, Teredo) are judged by that IPv4 address, since that is where packets end up.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One allowlist entry, e.g. `127.0.0.0/8`. IPv4-mapped IPv6 ranges are stored as IPv4. */
export interface Cidr {
  readonly address: Address;
  readonly prefixLength: number;
  /** Normalised text form, e.g. `127.0.0.0/8`, `::1/128`. */
  readonly text: string;
}

/**
 * Parses a strict IP address: IPv4 only as four decimal parts (no `0x7f.1`, `2130706433` or
 * leading zeros, whose meaning differs between parsers), IPv6 with or without brackets.
 * Returns null when the text is not an address.
 */
export function parseAddress(text: string): Address | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (!bare.includes(':') || !ipaddr.IPv6.isValid(bare)) return null;
  const compatible = /^::(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (compatible !== null) {
    // ipaddr.js reads the deprecated IPv4-compatible form `::a.b.c.d` as IPv4-mapped
    // (`::ffff:a.b.c.d`); RFC 4291 says it is `::<a.b.c.d as 32 bits>`, as the URL parser and
    // the OS read it.
    const [a, b, c, d] = ipaddr.IPv4.parse(compatible[1]!).octets as [number, number, number, number];
    return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, (a << 8) | b, (c << 8) | d]);
  }
  return ipaddr.IPv6.parse(bare);
}

function toCidr(address: Address, prefixLength: number): Cidr {
  // An IPv4-mapped range (::ffff:a.b.c.d/96+n) is the IPv4 range a.b.c.d/n.
  if (address.kind() === 'ipv6' && prefixLength >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return toCidr((address as ipaddr.IPv6).toIPv4Address(), prefixLength - 96);
  }
  return { address, prefixLength, text: `${address.toString()}/${prefixLength}` };
}

/**
 * Parses `127.0.0.0/8, ::1/128, 203.0.113.7` (a bare address is /32 or /128). Empty entries
 * are skipped, so `""` is the empty list. Throws an Error naming the bad entry.
 */
export function parseCidrList(text: string): Cidr[] {
  const cidrs: Cidr[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const addressText = slash === -1 ? entry : entry.slice(0, slash);
    const prefixText = slash === -1 ? null : entry.slice(slash + 1);
    const address = parseAddress(addressText);
    if (address === null || (address.kind() === 'ipv6' && (address as ipaddr.IPv6).zoneId !== undefined)) {
      throw new Error(`invalid CIDR "${entry}": "${addressText}" is not an IPv4 or IPv6 address`);
    }
    const max = address.kind() === 'ipv4' ? 32 : 128;
    if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) {
      throw new Error(`invalid CIDR "${entry}": the prefix length must be a number from 0 to ${max}`);
    }
    const prefixLength = prefixText === null ? max : Number(prefixText);
    if (prefixLength > max) {
      throw new Error(`invalid CIDR "${entry}": the prefix length must be a number from 0 to ${max}`);
    }
    cidrs.push(toCidr(address, prefixLength));
  }
  return cidrs;
}

/** A table of refused ranges with the reason shown to users. */
type RangeTable = ReadonlyArray<readonly [range: [Address, number], reason: string]>;

function table(entries: ReadonlyArray<readonly [string, string]>): RangeTable {
  return entries.map(([cidr, reason]) => [ipaddr.parseCIDR(cidr), reason] as const);
}

// IANA IPv4 Special-Purpose Address Registry, entries that are not globally reachable, plus
// multicast and the rest of 240/4 (class E).
const FORBIDDEN_V4 = table([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

// Only 2000::/3 is allocated as global unicast; outside it everything is refused (with a
// precise reason where there is one), except the prefixes that embed an IPv4 address.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAMED_V6 = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fc00::/7', 'unique local (private)'],
  ['ff00::/8', 'multicast'],
  ['fec0::/10', 'site-local'],
  ['100::/64', 'discard-only'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  // Everything else in 2001::/23 (IETF protocol assignments: ORCHID, AMT, ...) is not a place
  // a webhook lives; Teredo (2001::/32) is handled before this table.
  ['2001::/23', 'IETF protocol assignment'],
]);

const IPV4_MAPPED = ipaddr.parseCIDR('::ffff:0:0/96');
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const TEREDO = ipaddr.parseCIDR('2001::/32');

function matchIn(address: Address, range: [Address, number]): boolean {
  return address.kind() === range[0].kind() && address.match(range);
}

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The IPv4 address a v6 address carries and delivers to, when it is one of those forms. */
function embeddedIpv4(address: ipaddr.IPv6): { ipv4: ipaddr.IPv4; form: string } | null {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  if (matchIn(address, IPV4_MAPPED)) return { ipv4: ipv4FromParts(p[6], p[7]), form: 'IPv4-mapped' };
  if (matchIn(address, IPV4_TRANSLATED)) return { ipv4: ipv4FromParts(p[6], p[7]), form: 'IPv4-translated' };
  if (matchIn(address, NAT64)) return { ipv4: ipv4FromParts(p[6], p[7]), form: 'NAT64' };
  if (matchIn(address, SIX_TO_FOUR)) return { ipv4: ipv4FromParts(p[1], p[2]), form: '6to4' };
  // Teredo stores the client's IPv4 address bit-inverted in the last 32 bits (RFC 4380).
  if (matchIn(address, TEREDO)) return { ipv4: ipv4FromParts(p[6] ^ 0xffff, p[7] ^ 0xffff), form: 'Teredo' };
  return null;
}

function forbiddenV4Reason(address: ipaddr.IPv4): string | null {
  for (const [range, reason] of FORBIDDEN_V4) if (matchIn(address, range)) return reason;
  return null;
}

function forbiddenReason(address: Address): string | null {
  if (address.kind() === 'ipv4') return forbiddenV4Reason(address as ipaddr.IPv4);
  const v6 = address as ipaddr.IPv6;
  const embedded = embeddedIpv4(v6);
  if (embedded !== null) {
    const reason = forbiddenV4Reason(embedded.ipv4);
    return reason === null ? null : `${embedded.form} ${reason}`;
  }
  for (const [range, reason] of NAMED_V6) if (matchIn(v6, range)) return reason;
  if (!matchIn(v6, GLOBAL_UNICAST_V6)) return 'reserved';
  return null;
}

/**
 * Why an address may not be reached (`loopback`, `private`, `IPv4-mapped loopback`,
 * `not an IP address`...), or null when it is globally routable. Ignores the allowlist.
 */
export function forbiddenAddressReason(ip: string): string | null {
  const address = parseAddress(ip);
  if (address === null) return 'not an IP address';
  return forbiddenReason(address);
}

/** True for anything not globally routable, and for text that is not an IP address. */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenAddressReason(ip) !== null;
}

/** True when the address is inside the allowlist (an IPv4-mapped IPv6 address counts as its IPv4). */
export function isInCidrList(ip: string, allowed: readonly Cidr[]): boolean {
  const address = parseAddress(ip);
  if (address === null) return false;
  const candidates: Address[] = [address];
  if (address.kind() === 'ipv6' && matchIn(address, IPV4_MAPPED)) {
    candidates.push((address as ipaddr.IPv6).toIPv4Address());
  }
  return allowed.some((cidr) =>
    candidates.some((candidate) => matchIn(candidate, [cidr.address, cidr.prefixLength])),
  );
}

/** May a delivery connect to this address: inside the allowlist, or else globally routable. */
export function isAddressAllowed(ip: string, allowed: readonly Cidr[]): boolean {
  return isInCidrList(ip, allowed) || !isForbiddenAddress(ip);
}

/**
 * Appended to every refusal of a non-public destination: the operator's way out, for a receiver
 * on the same machine or network (docs/configuration.md).
 */
export const ALLOWED_CIDRS_HINT =
  'to allow it, add its range to RUNHOOK_ALLOWED_CIDRS (e.g. 127.0.0.0/8,::1/128 for a receiver on this machine)';
