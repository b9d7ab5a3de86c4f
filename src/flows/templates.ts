/**
 * `{{ path }}` templates in block params. Rendering only looks values up by
 * path (own properties, never prototypes): nothing is ever evaluated.
 *
 * Roots: `trigger.…`, `steps.<blockId>.…`, `VARIABLES.<name>`, `ENV.<name>`, `SECRETS.<name>`,
 * `run.id`, `flow.id`, `flow.name`, `callbacks.<blockId>` (a wait_for_event
 * step's callback URL); `error.…` on an error path; `item.…` and `index`
 * inside a for_each chain.
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const LONE_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;
/** `a.b-c.d[0]`: names may hold dashes (header names); `[n]` indexes arrays. */
const PATH = /^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type Segment = string | number;

export interface TemplateRef {
  /** The placeholder's text, e.g. `steps.fetch.body.id`. */
  raw: string;
  root: string;
  segments: Segment[];
}

/** Values a run renders templates against. */
export interface TemplateContext {
  trigger: unknown;
  steps: Record<string, unknown>;
  variables: Readonly<Record<string, string>>;
  /** The tenant's environment variables (`{{ENV.<name>}}`). */
  env: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  run: { id: string };
  flow: { id: string; name: string };
  /** On an error path: the failure being handled (`{{error.blockId}}`, `{{error.message}}`). */
  error?: { blockId: string; message: string } | undefined;
  /** Inside a for_each chain: the current item and its 0-based index. */
  item?: unknown;
  index?: number | undefined;
  /** The callback URLs of the wait_for_event steps the params name, by block id. */
  callbacks?: Readonly<Record<string, string>>;
}

/** A step fails with this when a template names a secret, variable or environment variable that does not exist. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function parsePath(raw: string): Segment[] | null {
  if (!PATH.test(raw)) return null;
  const segments: Segment[] = [];
  for (const match of raw.matchAll(/([\w-]+)|\[(\d+)\]/g)) {
    segments.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return segments;
}

/** Every placeholder in a string; `null` for one whose path does not parse. */
export function placeholders(text: string): Array<TemplateRef | { raw: string; invalid: true }> {
  const out: Array<TemplateRef | { raw: string; invalid: true }> = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const raw = match[1]!;
    const segments = parsePath(raw);
    if (!segments) out.push({ raw, invalid: true });
    else out.push({ raw, root: String(segments[0]), segments });
  }
  return out;
}

/**
 * Why a placeholder is not allowed, or null. Checked at save time, so that a
 * typo in a root or a reference to a block that does not exist is a 422.
 */
export function checkRef(
  ref: TemplateRef,
  blockIds: ReadonlySet<string>,
  inLoop = false,
  eventBlocks: ReadonlySet<string> = new Set(),
): string | null {
  const [, second, third] = ref.segments;
  switch (ref.root) {
    case 'trigger':
    case 'error':
      return null;
    case 'item':
    case 'index':
      return inLoop ? null : `{{${ref.raw}}} exists only inside a for_each chain`;
    case 'steps':
      if (typeof second !== 'string' || !blockIds.has(second)) return `unknown block in {{${ref.raw}}}`;
      return null;
    case 'SECRETS':
    case 'VARIABLES':
    case 'ENV':
      if (typeof second !== 'string' || !NAME.test(second) || ref.segments.length !== 2) {
        return `{{${ref.raw}}} must be ${ref.root}.<name>`;
      }
      return null;
    case 'callbacks':
      if (typeof second !== 'string' || ref.segments.length !== 2 || !blockIds.has(second)) return `unknown block in {{${ref.raw}}}`;
      return eventBlocks.has(second) ? null : `{{${ref.raw}}}: only a wait_for_event block has a callback URL`;
    case 'run':
      return second === 'id' && third === undefined ? null : `{{${ref.raw}}}: run has only run.id`;
    case 'flow':
      return (second === 'id' || second === 'name') && third === undefined ? null : `{{${ref.raw}}}: flow has only flow.id and flow.name`;
    default:
      return `unknown template root "${ref.root}" in {{${ref.raw}}}`;
  }
}

/** Calls `visit` for every string inside a JSON-like value, with its path. */
export function forEachString(value: unknown, path: Segment[], visit: (text: string, path: Segment[]) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) forEachString(item, [...path, i], visit);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) forEachString(item, [...path, key], visit);
  }
}

/** The names under `root` that a value's templates reference (`SECRETS` → secret names, `callbacks` → block ids). */
export function referencedNames(value: unknown, root: string): Set<string> {
  const names = new Set<string>();
  forEachString(value, [], (text) => {
    for (const ref of placeholders(text)) {
      if ('segments' in ref && ref.root === root && typeof ref.segments[1] === 'string') names.add(ref.segments[1]);
    }
  });
  return names;
}

/** The names of the secrets a value's templates reference. */
export const referencedSecrets = (value: unknown): Set<string> => referencedNames(value, 'SECRETS');

/** The most characters placeholders may add to one block's params: past it, the step fails before they are built. */
export const MAX_RENDERED_CHARS = 10 * 1024 * 1024;

/**
 * Renders every string inside `value`. A string that is exactly one
 * placeholder keeps the referenced value's JSON type; placeholders inside
 * longer strings are stringified (objects as JSON, missing values as "").
 * `usedSecrets` collects the names of the secrets that were substituted.
 * What placeholders add is counted as it is added: past
 * `MAX_RENDERED_CHARS`, a TemplateError, before the text is built.
 */
export function render(value: unknown, context: TemplateContext, usedSecrets?: Set<string>): unknown {
  return renderWithin(value, context, usedSecrets, { left: MAX_RENDERED_CHARS });
}

function renderWithin(value: unknown, context: TemplateContext, usedSecrets: Set<string> | undefined, budget: { left: number }): unknown {
  if (typeof value === 'string') return renderString(value, context, usedSecrets, budget);
  if (Array.isArray(value)) return value.map((item) => renderWithin(item, context, usedSecrets, budget));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderWithin(item, context, usedSecrets, budget);
    return out;
  }
  return value;
}

function renderString(text: string, context: TemplateContext, usedSecrets: Set<string> | undefined, budget: { left: number }): unknown {
  if (!text.includes('{{')) return text;
  const lone = LONE_PLACEHOLDER.exec(text);
  if (lone) return lookup(lone[1]!, context, usedSecrets) ?? '';
  return text.replace(PLACEHOLDER, (_, raw: string) => {
    const piece = stringify(lookup(raw, context, usedSecrets));
    budget.left -= piece.length;
    if (budget.left < 0) throw new TemplateError(`the rendered params would be longer than ${MAX_RENDERED_CHARS} characters`);
    return piece;
  });
}

function lookup(raw: string, context: TemplateContext, usedSecrets?: Set<string>): unknown {
  const segments = parsePath(raw);
  if (!segments) return undefined;
  const [root, name] = segments;
  switch (root) {
    case 'SECRETS': {
      const value = ownValue(context.secrets, name);
      if (value === undefined) throw new TemplateError(`secret "${String(name)}" is not set for this flow`);
      usedSecrets?.add(String(name));
      return value;
    }
    case 'VARIABLES': {
      const value = ownValue(context.variables, name);
      if (value === undefined) throw new TemplateError(`variable "${String(name)}" is not set for this flow`);
      return value;
    }
    case 'ENV': {
      const value = ownValue(context.env, name);
      if (value === undefined) throw new TemplateError(`environment variable "${String(name)}" is not set`);
      return value;
    }
    case 'trigger':
      return walk(context.trigger, segments.slice(1));
    case 'steps':
      return walk(context.steps, segments.slice(1));
    case 'run':
      return walk(context.run, segments.slice(1));
    case 'flow':
      return walk(context.flow, segments.slice(1));
    case 'error':
      return walk(context.error, segments.slice(1));
    case 'item':
      return walk(context.item, segments.slice(1));
    case 'index':
      return segments.length === 1 ? context.index : undefined;
    case 'callbacks':
      return segments.length === 2 ? ownValue(context.callbacks, name) : undefined;
    default:
      return undefined;
  }
}

function walk(value: unknown, segments: Segment[]): unknown {
  let current = value;
  for (const segment of segments) current = ownValue(current, segment);
  return current;
}

function ownValue(container: unknown, key: Segment | undefined): unknown {
  if (key === undefined || container === null || typeof container !== 'object') return undefined;
  return Object.hasOwn(container, key) ? (container as Record<Segment, unknown>)[key] : undefined;
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
