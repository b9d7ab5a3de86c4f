/**
 * Where a step may send a request. Two rules: in production nothing goes to
 * loopback, private or link-local addresses; and a secret with `allowedHosts`
 * only ever goes to one of those hosts.
 */

const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/;

/**
 * True for loopback, private, link-local, CGNAT, benchmarking, documentation,
 * reserved and unspecified addresses (IPv4, and IPv6 including forms that
 * embed an IPv4 address: mapped, compatible, NAT64, 6to4), for local names,
 * and for single-label names (no dot: a network's own hosts, never a public
 * name). A public name that resolves to a private
 * address cannot be caught by its name; Workers cannot reach private
 * networks anyway, so this is a second line.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (PRIVATE_NAMES.test(host)) return true;
  if (!host.includes('.') && !host.includes(':')) return true;
  const v4 = parseIPv4(host);
  if (v4) return isPrivateIPv4(v4);
  const v6 = host.includes(':') ? parseIPv6(host) : null;
  return v6 ? isPrivateIPv6(v6) : false;
}

function isPrivateIPv4([a, b, c]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a! >= 224
  );
}

function isPrivateIPv6(words: number[]): boolean {
  const [w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0, w6 = 0, w7 = 0] = words;
  const embedded = [w6 >> 8, w6 & 0xff, w7 >> 8, w7 & 0xff];
  const zeroUpTo = (n: number) => words.slice(0, n).every((w) => w === 0);
  if (zeroUpTo(6)) return w6 === 0 ? w7 <= 1 : isPrivateIPv4(embedded); // ::, ::1, ::a.b.c.d (compatible)
  if (zeroUpTo(5) && w5 === 0xffff) return isPrivateIPv4(embedded); // ::ffff:a.b.c.d (mapped)
  if (zeroUpTo(4) && w4 === 0xffff && w5 === 0) return isPrivateIPv4(embedded); // ::ffff:0:a.b.c.d (translated)
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return isPrivateIPv4(embedded); // NAT64
  if (w0 === 0x2002) return isPrivateIPv4([w1 >> 8, w1 & 0xff, w2 >> 8, w2 & 0xff]); // 6to4
  return (w0 & 0xfe00) === 0xfc00 || (w0 & 0xffc0) === 0xfe80 || (w0 & 0xffc0) === 0xfec0; // ULA, link-local, site-local
}

function parseIPv4(host: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match ? match.slice(1).map(Number) : null;
}

/** The eight 16-bit words of an IPv6 address (as the URL parser writes it), or null. */
function parseIPv6(host: string): number[] | null {
  let text = host;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = parseIPv4(tail[1]!)!;
    text = `${text.slice(0, -tail[1]!.length)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? left.length !== 8 : missing < 1) return null;
  const words = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right].map((w) => parseInt(w, 16));
  return words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}

/**
 * Does `url` match one of the allowed host patterns? A pattern is a hostname
 * (`api.postmarkapp.com`), optionally with a port, or `*.example.com` for any
 * subdomain. Without a port, a pattern matches any port.
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port;
  return patterns.some((pattern) => {
    const [patternHost = '', patternPort] = pattern.toLowerCase().split(/:(?=\d+$)/);
    if (patternPort !== undefined && patternPort !== (port || defaultPort(url))) return false;
    if (patternHost.startsWith('*.')) return host.endsWith(patternHost.slice(1)) && host.length > patternHost.length - 1;
    return host === patternHost;
  });
}

const defaultPort = (url: URL) => (url.protocol === 'https:' ? '443' : '80');
