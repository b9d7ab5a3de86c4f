export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = 0;
let lastRandom = new Uint8Array(10);

/**
 * A ULID-style id with a prefix, e.g. `flw_01JD3...`: 48 bits of milliseconds
 * then 80 random bits, in Crockford base32. Ids sort by creation time, so
 * "newest first" lists order by id and paginate with the last id as cursor.
 * Within one millisecond the random part is incremented, keeping order.
 */
export function newId(prefix: string): string {
  const now = Date.now();
  if (now <= lastTime) {
    increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = crypto.getRandomValues(new Uint8Array(10));
  }
  return `${prefix}_${encodeTime(lastTime)}${encodeBytes(lastRandom)}`;
}

/** An unguessable token of `bytes` random bytes (≥ 16 gives ≥ 128 bits), base64url. */
export function randomToken(bytes = 24): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The id pattern for a prefix, for validating cursors and path ids. */
export const idPattern = (prefix: string): RegExp => new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** 80 bits as 16 base32 characters. */
function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buffer >> bits) & 31];
    }
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] !== 255) {
      bytes[i]!++;
      return;
    }
    bytes[i] = 0;
  }
}
