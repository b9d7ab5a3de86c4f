/**
 * Secret masking for everything that leaves a run step (outputs, errors, log
 * lines, events). Each secret value is expanded once into the forms it can
 * take on the wire — raw, base64 (whole or embedded in a longer base64 string),
 * percent-encoded, JSON-escaped — and all forms of all secrets are compiled into
 * one Aho–Corasick automaton, so masking is a single pass over the text
 * whatever the number of secrets.
 */

/** What every occurrence of a secret is replaced by. */
export const MASK = '***';

/** Secret values shorter than this are never masked (new values must be 8 bytes; see routes/secrets.ts). */
export const MIN_SECRET_LENGTH = 4;

/** Shorter base64 cores of an embedded secret would match ordinary text by chance. */
const MIN_CORE_LENGTH = 6;

/** Containers nested deeper than this are replaced by `TOO_DEEP` in `maskValue`. */
const MAX_DEPTH = 64;
const TOO_DEEP = '[too deep]';
const CIRCULAR = '[circular]';
const UNPRINTABLE = '[unprintable]';

/** Masks the secrets of one run. */
export interface Masker {
  /**
   * `text` with every occurrence of every form of every secret replaced by
   * MASK. Returns the same string instance when nothing matched.
   */
  mask(text: string): string;
  /**
   * A deep copy of a JSON-like value (objects, arrays, strings, numbers,
   * booleans, null) with every string — object KEYS included — masked.
   * Numbers whose digits form a secret become the masked string; other
   * leaves stay. Returns the input itself when nothing matched (cheap when
   * there are no secrets).
   */
  maskValue<T>(value: T): T;
  /**
   * Names of the secrets any form of which occurs in `text` (used to enforce
   * which hosts a secret may be sent to). Sorted, unique.
   */
  secretsIn(text: string): string[];
  /**
   * `text` less its longest tail that is the start of a form (what a cut at
   * a limit leaves of a split secret), so that text cut anywhere shows no
   * part of a secret at its edge. Apply after `mask`.
   */
  trimPartial(text: string): string;
  /** True when the masker has no secrets (mask is then the identity). */
  readonly isEmpty: boolean;
  /** Length of the longest form it masks (0 when empty): text cut shorter than this could hide a partial secret. */
  readonly longest: number;
}

/** A masker with no secrets: every method is the identity (or finds nothing). */
export const EMPTY_MASKER: Masker = Object.freeze({
  isEmpty: true,
  longest: 0,
  mask: (text: string) => text,
  maskValue: <T>(value: T) => value,
  secretsIn: () => [],
  trimPartial: (text: string) => text,
});

/**
 * Builds a masker from secret name -> value. All the work of expanding forms
 * and compiling the automaton happens here, once per run.
 */
export function createMasker(secrets: ReadonlyMap<string, string>): Masker {
  const names: string[] = [];
  const patterns: Pattern[] = [];
  for (const [name, value] of secrets) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    const owner = names.push(name) - 1;
    for (const form of formsOf(value)) patterns.push({ form, owner });
  }
  if (patterns.length === 0) return EMPTY_MASKER;

  // Short forms share one automaton (one pass over the text); the few long ones (secrets of
  // hundreds of characters) are found with indexOf, so a 64 KiB secret cannot make the
  // automaton, and the run's memory, explode.
  const automaton = Automaton.build(patterns.filter((p) => p.form.length <= LONG_FORM));
  const long = patterns.filter((p) => p.form.length > LONG_FORM);
  const mask = (text: string): string => {
    const ranges = long.length === 0 ? automaton.ranges(text) : merged(automaton.ranges(text), longRanges(text, long));
    return ranges.length === 0 ? text : replaceRanges(text, ranges);
  };
  return {
    isEmpty: false,
    longest: Math.max(...patterns.map((p) => p.form.length)),
    mask,
    maskValue: <T>(value: T): T => (needsCopy(value, mask) ? (copyMasked(value, mask) as T) : value),
    secretsIn: (text) => {
      const owners = automaton.owners(text);
      for (const p of long) if (text.includes(p.form)) owners.add(p.owner);
      return [...owners].map((owner) => names[owner]!).sort();
    },
    trimPartial: (text) => {
      let split = 0;
      for (const { form } of patterns) split = Math.max(split, startOfFormAtEnd(text, form));
      return split === 0 ? text : text.slice(0, text.length - split);
    },
  };
}

/**
 * The length of the longest tail of `text` that is a proper prefix of
 * `form`: Knuth–Morris–Pratt over the last `form.length - 1` characters, so
 * linear in the form's length whatever the text's.
 */
function startOfFormAtEnd(text: string, form: string): number {
  const failure = new Uint32Array(form.length);
  for (let i = 1, k = 0; i < form.length; i++) {
    while (k > 0 && form[i] !== form[k]) k = failure[k - 1]!;
    if (form[i] === form[k]) k++;
    failure[i] = k;
  }
  let matched = 0;
  for (let i = Math.max(0, text.length - form.length + 1); i < text.length; i++) {
    while (matched > 0 && text[i] !== form[matched]) matched = failure[matched - 1]!;
    if (text[i] === form[matched]) matched++;
    if (matched === form.length) matched = failure[matched - 1]!; // a whole form: masked already, not a split one
  }
  return matched;
}

/** No host name is longer: longer values need no host form. */
const MAX_HOSTNAME_LENGTH = 253;

/** Forms longer than this are searched one by one rather than through the automaton. */
const LONG_FORM = 256;

/** Ranges of every occurrence of the long patterns, in the flat form of `Automaton.ranges`, merged. */
function longRanges(text: string, patterns: readonly Pattern[]): number[] {
  const found: Array<[number, number]> = [];
  for (const { form } of patterns) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) found.push([at, at + form.length]);
  }
  found.sort((a, b) => a[0] - b[0]);
  const ranges: number[] = [];
  for (const [start, end] of found) addRange(ranges, start, end);
  return ranges;
}

/** Two flat range lists merged into one (sorted, overlaps and neighbours joined). */
function merged(a: readonly number[], b: readonly number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (const list of [a, b]) for (let i = 0; i < list.length; i += 2) pairs.push([list[i]!, list[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const ranges: number[] = [];
  for (const [start, end] of pairs) addRange(ranges, start, end);
  return ranges;
}

// ---------------------------------------------------------------------------
// Forms of a secret

interface Pattern {
  form: string;
  /** Index of the secret this is a form of. */
  owner: number;
}

/**
 * Every distinct string that betrays `value`: the value as an outside API
 * may echo it back (its case changed, form-decoded, its bytes in hex or read
 * as Latin-1, read as a number and printed again) and its base64 forms, each carried raw, JSON-escaped or
 * percent-encoded (base64 too may travel in a query string or as PHP-style
 * JSON with `\/`).
 */
function formsOf(value: string): string[] {
  const forms = new Set<string>();
  for (const base of new Set([value, ...caseForms(value), ...echoedForms(value), ...numberForms(value), ...base64Forms(value)])) {
    for (const form of [base, ...jsonForms(base), ...urlForms(base)]) forms.add(form);
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/**
 * The value as a URL's host carries it: lower-cased, and in IDNA (punycode)
 * form when it has non-ASCII letters. An error that names a host would
 * otherwise show a secret that was rendered into it.
 */
function caseForms(value: string): string[] {
  const forms = [value.toLowerCase(), value.toUpperCase()];
  if (value.length > MAX_HOSTNAME_LENGTH) return forms;
  try {
    const host = new URL(`http://${value}.invalid/`).hostname;
    if (host.endsWith('.invalid')) forms.push(host.slice(0, -'.invalid'.length));
  } catch {
    // not a possible host: nothing more to add
  }
  return forms;
}

/**
 * The value as a server may echo it after decoding or re-encoding it: read
 * as a form (`+` becomes a space), its UTF-8 bytes in hex (either case), and
 * its UTF-8 bytes read as Latin-1 (mojibake).
 */
function echoedForms(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  const latin1 = Array.from(bytes, (byte) => String.fromCharCode(byte)).join('');
  return [value.replace(/\+/g, ' '), hex, hex.toUpperCase(), latin1];
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A value that reads as a number, as a JSON parser hands it back: rounded to
 * a double and printed again (`1.2345678901234568e+23` for 24 digits, whose
 * first 16 it shows), in either case of the exponent's `e`.
 */
function numberForms(value: string): string[] {
  if (!DECIMAL.test(value)) return [];
  const printed = String(Number(value));
  return Number.isFinite(Number(value)) ? [printed, printed.toUpperCase()] : [];
}

/**
 * The base64 encodings of `value`'s UTF-8 bytes (standard padded and unpadded,
 * url-safe unpadded), plus the cores that remain when `value` is embedded in
 * a longer base64 string at each of the three alignments (`Basic user:value`).
 */
function base64Forms(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const padded = base64(bytes);
  const forms = [padded, unpadded(padded), toUrlAlphabet(unpadded(padded))];
  for (let offset = 0; offset < 3; offset++) {
    const core = stableCore(bytes, offset);
    if (core.length >= MIN_CORE_LENGTH) forms.push(core, toUrlAlphabet(core));
  }
  return forms;
}

/** The base64 characters fixed by `bytes` alone when they start `offset` bytes into a 3-byte group. */
function stableCore(bytes: Uint8Array, offset: number): string {
  const shifted = new Uint8Array(offset + bytes.length);
  shifted.set(bytes, offset);
  const encoded = unpadded(base64(shifted));
  // Character i encodes bits [6i, 6i + 6): keep those wholly inside the secret's bits.
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return encoded.slice(first, end);
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const unpadded = (encoded: string): string => encoded.replace(/=+$/, '');

const toUrlAlphabet = (encoded: string): string => encoded.replace(/\+/g, '-').replace(/\//g, '_');

/**
 * `text` as JSON encoders write it inside a string literal: JSON.stringify's
 * escaping, optionally with `/` as `\/` and non-ASCII as `\uXXXX` in either
 * hex case (PHP's and Python's defaults).
 */
function jsonForms(text: string): string[] {
  const escaped = JSON.stringify(text).slice(1, -1);
  return [escaped, escaped.replace(/\//g, '\\/')].flatMap((form) => [form, escapeNonAscii(form, false), escapeNonAscii(form, true)]);
}

// Per UTF-16 code unit, so an astral character becomes a surrogate pair of escapes, as in JSON.
const escapeNonAscii = (text: string, upperHex: boolean): string =>
  text.replace(/[^\x00-\x7f]/g, (unit) => {
    const hex = unit.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upperHex ? hex.toUpperCase() : hex}`;
  });

/**
 * `text` percent-encoded as URLs and forms carry it (encodeURIComponent,
 * spaces as `+`, URLSearchParams, encodeURI, and the URL parser's own path
 * and query encodings), each with upper- and lower-case hex escapes.
 */
function urlForms(text: string): string[] {
  let encoded: string[];
  try {
    const component = encodeURIComponent(text);
    encoded = [
      component,
      component.replace(/%20/g, '+'),
      new URLSearchParams({ v: text }).toString().slice('v='.length),
      encodeURI(text),
      new URL(`http://h/?${text}`).search.slice(1),
      ...(text.includes('#') || text.includes('?') ? [] : [new URL(`http://h/${text}`).pathname.slice(1)]),
    ];
  } catch {
    return []; // a lone surrogate cannot be percent-encoded (URIError); the raw form still covers it
  }
  return encoded.flatMap((form) => [form, form.replace(/%[0-9A-F]{2}/g, (percentEscape) => percentEscape.toLowerCase())]);
}

// ---------------------------------------------------------------------------
// Matching

const NO_OWNERS: readonly number[] = [];

/** Entries (4 bytes each: 8 MB) the dense transition table may take, bounding memory whatever the secrets. */
const DENSE_BUDGET = 1 << 21;

/**
 * Aho–Corasick over UTF-16 code units. The shallow states, where scanning
 * ordinary text spends nearly all its time, get full DFA rows: one table
 * lookup per character. When the table would pass DENSE_BUDGET (many secrets
 * over a wide alphabet), deeper states keep only their trie edges and follow
 * failure links. Characters that occur in no pattern share class 0, which
 * leads back to the root.
 */
class Automaton {
  private constructor(
    /** Code unit -> alphabet class. */
    private readonly classOf: Uint16Array,
    /** Number of alphabet classes: the row width of `dense`. */
    private readonly width: number,
    /** For the edges of states without a dense row. */
    private readonly trie: Trie,
    /** States below this (the shallowest, as states are numbered by depth) have a row in `dense`. */
    private readonly denseStates: number,
    /** `state * width + class` -> next state, for dense states. */
    private readonly dense: Int32Array,
    /** Per state: the state of the longest proper suffix of its prefix that is in the trie. */
    private readonly fail: Int32Array,
    /** Per state: the length of the longest pattern ending there, 0 if none. */
    private readonly matchLength: Int32Array,
    /** Per state: the owners of every pattern ending there. */
    private readonly ownersAt: (readonly number[])[],
  ) {}

  static build(patterns: readonly Pattern[]): Automaton {
    const { classOf, width } = alphabetOf(patterns);
    const trie = buildTrie(patterns, classOf);
    const denseStates = Math.min(trie.size, Math.max(1, Math.floor(DENSE_BUDGET / width)));
    const automaton = new Automaton(
      classOf,
      width,
      trie,
      denseStates,
      new Int32Array(denseStates * width),
      new Int32Array(trie.size),
      new Int32Array(trie.size),
      new Array<readonly number[]>(trie.size).fill(NO_OWNERS),
    );
    automaton.link();
    return automaton;
  }

  /**
   * Fills failure links, dense rows and match data, state by state: states
   * are numbered by depth, so everything read (always shallower) is complete.
   */
  private link(): void {
    const { trie, width, denseStates, dense, fail, matchLength, ownersAt } = this;
    for (let state = 0; state < trie.size; state++) {
      const failState = fail[state]!;
      const isDense = state < denseStates;
      // A dense row starts as its failure state's row; the state's own edges then override it.
      if (isDense && state !== 0) dense.copyWithin(state * width, failState * width, (failState + 1) * width);
      for (let child = trie.firstChild[state]!; child !== 0; child = trie.nextSibling[child]!) {
        const cls = trie.classInto[child]!;
        const childFail = state === 0 ? 0 : this.advance(failState, cls);
        const own = trie.owners[child];
        if (isDense) dense[state * width + cls] = child;
        fail[child] = childFail;
        matchLength[child] = own ? trie.depth[child]! : matchLength[childFail]!;
        ownersAt[child] = own ? [...own, ...ownersAt[childFail]!] : ownersAt[childFail]!;
      }
    }
  }

  /** The state after reading a character of class `cls` in `state`. */
  private advance(state: number, cls: number): number {
    for (;;) {
      if (state < this.denseStates) return this.dense[state * this.width + cls]!;
      const child = childOf(this.trie, state, cls);
      if (child !== 0) return child;
      state = this.fail[state]!;
    }
  }

  /**
   * The merged ranges of `text` covered by any pattern, as flat
   * `[start0, end0, start1, end1, ...]`, disjoint, non-adjacent and in order.
   */
  ranges(text: string): number[] {
    const { classOf, width, denseStates, dense, matchLength } = this;
    const ranges: number[] = [];
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const cls = classOf[text.charCodeAt(i)]!;
      state = state < denseStates ? dense[state * width + cls]! : this.advance(state, cls);
      const length = matchLength[state]!;
      // The longest pattern ending here contains every shorter one ending here.
      if (length !== 0) addRange(ranges, i + 1 - length, i + 1);
    }
    return ranges;
  }

  /** The owners of every pattern occurring in `text`. */
  owners(text: string): Set<number> {
    const { classOf, width, denseStates, dense, ownersAt } = this;
    const found = new Set<number>();
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const cls = classOf[text.charCodeAt(i)]!;
      state = state < denseStates ? dense[state * width + cls]! : this.advance(state, cls);
      for (const owner of ownersAt[state]!) found.add(owner);
    }
    return found;
  }
}

/** Gives each code unit used by a pattern its own class, from 1; all others stay 0. */
function alphabetOf(patterns: readonly Pattern[]): { classOf: Uint16Array; width: number } {
  const classOf = new Uint16Array(0x10000);
  let width = 1;
  for (const { form } of patterns) {
    for (let i = 0; i < form.length; i++) {
      const unit = form.charCodeAt(i);
      if (classOf[unit] === 0) classOf[unit] = width++;
    }
  }
  return { classOf, width };
}

/**
 * The trie of all forms, over alphabet classes, in flat arrays indexed by
 * state. State 0 is the root; as it is never a child, 0 also means "none".
 */
interface Trie {
  size: number;
  depth: Int32Array;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  /** The class on the edge from a state's parent. */
  classInto: Uint16Array;
  /** Owners of the patterns ending exactly at a state (sparse). */
  owners: number[][];
}

/** Builds the trie level by level, so that states are numbered by depth. */
function buildTrie(patterns: readonly Pattern[], classOf: Uint16Array): Trie {
  const capacity = patterns.reduce((sum, { form }) => sum + form.length, 1);
  const trie: Trie = {
    size: 1,
    depth: new Int32Array(capacity),
    firstChild: new Int32Array(capacity),
    nextSibling: new Int32Array(capacity),
    classInto: new Uint16Array(capacity),
    owners: [],
  };
  const reached = new Int32Array(patterns.length); // per pattern: the state of its first `depth` characters
  let active = patterns.map((_, index) => index);
  for (let depth = 0; active.length > 0; depth++) {
    const longer: number[] = [];
    for (const index of active) {
      const { form, owner } = patterns[index]!;
      const state = childOrAdd(trie, reached[index]!, classOf[form.charCodeAt(depth)]!);
      reached[index] = state;
      if (depth + 1 < form.length) longer.push(index);
      else {
        trie.owners[state] ??= [];
        trie.owners[state].push(owner);
      }
    }
    active = longer;
  }
  return trie;
}

function childOrAdd(trie: Trie, state: number, cls: number): number {
  const existing = childOf(trie, state, cls);
  if (existing !== 0) return existing;
  const child = trie.size++;
  trie.depth[child] = trie.depth[state]! + 1;
  trie.classInto[child] = cls;
  trie.nextSibling[child] = trie.firstChild[state]!;
  trie.firstChild[state] = child;
  return child;
}

/** The child of `state` along `cls`, or 0 if none. */
function childOf(trie: Trie, state: number, cls: number): number {
  for (let child = trie.firstChild[state]!; child !== 0; child = trie.nextSibling[child]!) {
    if (trie.classInto[child] === cls) return child;
  }
  return 0;
}

/**
 * Adds `[start, end)` to merged ranges. Ends arrive in increasing order, but a
 * long match can start before earlier ranges: it swallows them.
 */
function addRange(ranges: number[], start: number, end: number): void {
  while (ranges.length > 0 && ranges[ranges.length - 1]! >= start) {
    start = Math.min(start, ranges[ranges.length - 2]!);
    ranges.length -= 2;
  }
  ranges.push(start, end);
}

/** `text` with each of the flat `[start, end)` ranges replaced by one MASK. */
function replaceRanges(text: string, ranges: readonly number[]): string {
  const parts: string[] = [];
  let kept = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    parts.push(text.slice(kept, ranges[i]!), MASK);
    kept = ranges[i + 1]!;
  }
  parts.push(text.slice(kept));
  return parts.join('');
}

// ---------------------------------------------------------------------------
// JSON-like values

type Container = unknown[] | Record<string, unknown>;

function isContainer(value: unknown): value is Container {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Non-string primitives: kept as they are. */
const isOpaqueLeaf = (value: unknown): boolean =>
  value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'string');

/**
 * Whether `copyMasked` would change anything in `value`: a string or key to
 * mask, a container too deep or circular, or an object that is not plain.
 * Builds no containers, so the common no-secret case stays cheap.
 */
function needsCopy(value: unknown, mask: (text: string) => string): boolean {
  const matches = (text: string): boolean => mask(text) !== text;
  const checked = new Set<object>(); // shared subtrees are checked once
  const onPath = new Set<object>();
  const visit = (node: unknown, depth: number): boolean => {
    if (typeof node === 'string') return matches(node);
    if (typeof node === 'number') return matches(String(node));
    if (!isContainer(node)) return !isOpaqueLeaf(node);
    if (depth >= MAX_DEPTH || onPath.has(node)) return true;
    if (checked.has(node)) return false;
    onPath.add(node);
    const changes = Array.isArray(node)
      ? node.some((item) => visit(item, depth + 1))
      : Object.keys(node).some((key) => matches(key) || visit(node[key], depth + 1));
    onPath.delete(node);
    checked.add(node);
    return changes;
  };
  return visit(value, 0);
}

/**
 * A deep copy of `value` with every string and key masked. Containers deeper
 * than MAX_DEPTH or referring back to an ancestor become markers; other
 * objects become their masked `String()`. Only own enumerable keys are read.
 */
function copyMasked(value: unknown, mask: (text: string) => string): unknown {
  const copies = new Map<object, unknown>(); // a subtree shared N times is copied once, not N times
  const onPath = new Set<object>();
  const copy = (node: unknown, depth: number): unknown => {
    if (typeof node === 'string') return mask(node);
    if (typeof node === 'number') return mask(String(node)) === String(node) ? node : mask(String(node));
    if (!isContainer(node)) return isOpaqueLeaf(node) ? node : mask(printable(node));
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    if (onPath.has(node)) return CIRCULAR;
    if (copies.has(node)) return copies.get(node);
    onPath.add(node);
    const result = Array.isArray(node)
      ? Array.from(node, (item) => copy(item, depth + 1))
      : // fromEntries defines keys as own properties, so a `__proto__` key stays data. Two keys
        // that mask alike collapse into one (the last wins): data lost, but no secret leaked.
        Object.fromEntries(Object.keys(node).map((key) => [mask(key), copy(node[key], depth + 1)]));
    onPath.delete(node);
    copies.set(node, result);
    return result;
  };
  return copy(value, 0);
}

function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return UNPRINTABLE; // e.g. a toString that throws
  }
}
