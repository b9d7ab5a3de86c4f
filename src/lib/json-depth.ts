/** How deep JSON may nest anywhere PowerFlows parses it: request bodies, webhook bodies, responses a step reads. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in JSON text, found by one scan
 * that skips strings: refuses a hostile `[[[[…` before the parser recurses.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \\ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 || ch === 123 /* [ { */) {
      if (++depth > max) max = depth;
    } else if (ch === 93 || ch === 125 /* ] } */) depth--;
  }
  return max;
}
