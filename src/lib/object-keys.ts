/**
 * Object keys relative to a tenant's namespace in the uploads bucket. Every
 * key a tenant names is resolved to `<tenantId>/<key>`; anything that could
 * step outside that prefix is refused rather than normalised.
 */

export const MAX_KEY_BYTES = 1024;

/** Why a relative key is refused, or null when it is a safe key inside the namespace. */
export function keyProblem(key: string): string | null {
  if (key === '') return 'key is empty';
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) return `key is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith('/')) return 'key must be relative (no leading /)';
  if (key.includes('\\')) return 'key may not contain a backslash';
  // Control characters (C0, DEL, C1) have no place in an object key.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) return 'key may not contain control characters';
  for (const segment of key.split('/')) {
    if (segment === '') return 'key may not contain empty segments (//) or end with /';
    if (segment === '.' || segment === '..') return 'key may not contain . or .. segments';
  }
  return null;
}

/** `<tenantId>/<key>`, or throws with the reason the key is refused. */
export function tenantKey(tenantId: string, key: string): string {
  const problem = keyProblem(key);
  if (problem) throw new KeyError(`${problem}: ${JSON.stringify(key.slice(0, 200))}`);
  return `${tenantId}/${key}`;
}

export class KeyError extends Error {
  override readonly name = 'KeyError';
}
