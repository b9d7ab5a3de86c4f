/**
 * Where a step may send a request. Two rules: in production nothing goes to
 * loopback, private or link-local addresses; and a secret with `allowedHosts`
 * only ever goes to one of those hosts.
 */

const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/;

/** True for loopback, private, link-local, CGNAT and unspecified addresses and local names. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (PRIVATE_NAMES.test(host)) return true;
  const v4 = ipv4(host) ?? ipv4(host.replace(/^::ffff:/, ''));
  if (v4) {
    const [a, b] = v4;
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  if (host.includes(':')) {
    return host === '::' || host === '::1' || /^(fc|fd|fe8|fe9|fea|feb)/.test(host) || /^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(host);
  }
  return false;
}

function ipv4(host: string): [number, number] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match ? [Number(match[1]), Number(match[2])] : null;
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
