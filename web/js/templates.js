/**
 * Reads `{{ SECRETS.name }}` and `{{ VARIABLES.name }}` references out of a
 * flow definition, so the flow page can point out what still needs setting.
 */

/**
 * @param {unknown} value any JSON (a block's params)
 * @param {(text: string) => void} visit
 */
function forEachString(value, visit) {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const v of value) forEachString(v, visit);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) forEachString(v, visit);
}

/**
 * The names referenced under a root, sorted.
 * @param {Array<{ params?: unknown }>} blocks
 * @param {'SECRETS' | 'VARIABLES'} root
 */
export function referencedNames(blocks, root) {
  const names = new Set();
  const re = new RegExp(`\\{\\{\\s*${root}\\.([A-Za-z_][A-Za-z0-9_]*)`, 'g');
  for (const block of blocks ?? []) {
    forEachString(block?.params, (text) => {
      for (const m of text.matchAll(re)) names.add(m[1]);
    });
  }
  return [...names].sort();
}
