/**
 * Live validation in the page, before the server sees anything: each
 * block's params against the JSON Schema `GET /v1/blocks` gives (the subset
 * zod generates: types, enums, lengths, ranges, patterns, required and extra
 * properties, array sizes, anyOf), ids, and template placeholders (known
 * roots, blocks that exist, loop-only roots). The server stays the judge:
 * its 422 details are shown the same way.
 */
import { allBlocks, BLOCK_ID, isBlock, nestedChain } from './model.js';

/** @typedef {{ field: string, message: string }} Issue */

const ROOTS = new Set(['trigger', 'steps', 'VARIABLES', 'SECRETS', 'ENV', 'run', 'flow', 'error', 'item', 'index']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** @param {unknown} v */
const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * Checks a value against a JSON Schema (the subset above).
 * @param {any} schema @param {unknown} value @param {string} path
 * @returns {Issue[]}
 */
export function checkSchema(schema, value, path) {
  /** @type {Issue[]} */
  const out = [];
  if (!schema || typeof schema !== 'object' || value === undefined) return out;
  const push = (/** @type {string} */ message, at = path) => out.push({ field: at, message });
  if (Array.isArray(schema.anyOf)) {
    const results = schema.anyOf.map((/** @type {any} */ s) => checkSchema(s, value, path));
    if (!results.some((/** @type {Issue[]} */ r) => r.length === 0))
      out.push(...(results.find((/** @type {Issue[]} */ r) => r.length) ?? []));
    return out;
  }
  const t = typeOf(value);
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const ok = types.some((/** @type {string} */ want) =>
      want === 'integer' ? Number.isInteger(value) : want === 'number' ? t === 'number' : want === t,
    );
    if (!ok) {
      push(
        `Must be ${types.map((/** @type {string} */ x) => (x === 'integer' ? 'a whole number' : x === 'object' ? 'an object' : `a ${x}`)).join(' or ')}.`,
      );
      return out;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((/** @type {unknown} */ e) => JSON.stringify(e) === JSON.stringify(value))) {
    push(`Must be one of: ${schema.enum.join(', ')}.`);
  }
  if (t === 'string') {
    const s = /** @type {string} */ (value);
    if (typeof schema.minLength === 'number' && s.length < schema.minLength)
      push(schema.minLength === 1 ? 'Required.' : `At least ${schema.minLength} characters.`);
    if (typeof schema.maxLength === 'number' && s.length > schema.maxLength) push(`At most ${schema.maxLength} characters.`);
    if (typeof schema.pattern === 'string') {
      try {
        if (!new RegExp(schema.pattern).test(s))
          push(schema.description ? `Not valid: ${schema.description}.` : 'Not in the expected form.');
      } catch {
        // a pattern this browser cannot read: the server checks it
      }
    }
  }
  if (t === 'number') {
    const n = /** @type {number} */ (value);
    if (typeof schema.minimum === 'number' && n < schema.minimum) push(`At least ${schema.minimum}.`);
    if (typeof schema.maximum === 'number' && n > schema.maximum) push(`At most ${schema.maximum}.`);
    if (typeof schema.exclusiveMinimum === 'number' && n <= schema.exclusiveMinimum) push(`More than ${schema.exclusiveMinimum}.`);
    if (typeof schema.exclusiveMaximum === 'number' && n >= schema.exclusiveMaximum) push(`Less than ${schema.exclusiveMaximum}.`);
  }
  if (t === 'array') {
    const a = /** @type {unknown[]} */ (value);
    if (typeof schema.minItems === 'number' && a.length < schema.minItems)
      push(`At least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}.`);
    if (typeof schema.maxItems === 'number' && a.length > schema.maxItems) push(`At most ${schema.maxItems} items.`);
    if (schema.items && typeof schema.items === 'object')
      for (const [i, item] of a.entries()) out.push(...checkSchema(schema.items, item, `${path}[${i}]`));
  }
  if (t === 'object') {
    const o = /** @type {Record<string, unknown>} */ (value);
    const props = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
    for (const key of Array.isArray(schema.required) ? schema.required : []) {
      if (o[key] === undefined) push('Required.', `${path}.${key}`);
    }
    for (const [key, v] of Object.entries(o)) {
      const at = `${path}.${key}`;
      if (key in props) out.push(...checkSchema(props[key], v, at));
      else if (schema.additionalProperties === false) push(`Unknown field “${key}”.`, at);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
        out.push(...checkSchema(schema.additionalProperties, v, at));
      if (schema.propertyNames && typeof schema.propertyNames === 'object') {
        const names = checkSchema(schema.propertyNames, key, at);
        if (names.length) push(`The name “${key}” is not allowed here.`, at);
      }
    }
  }
  return out;
}

/**
 * Problems with the placeholders of one string.
 * @param {string} text
 * @param {{ ids: Set<string>, inLoop: boolean }} scope
 * @returns {string[]}
 */
export function templateProblems(text, scope) {
  /** @type {string[]} */
  const out = [];
  const open = (text.match(/\{\{/g) ?? []).length;
  const close = (text.match(/\}\}/g) ?? []).length;
  if (open !== close) out.push('A {{ placeholder is not closed with }}.');
  for (const m of text.matchAll(/\{\{\s*([^{}]*?)\s*\}\}/g)) {
    const expr = /** @type {string} */ (m[1]);
    const [root, second] = expr.split(/[.[\]]/).filter(Boolean);
    if (!root) {
      out.push('An empty {{ }} placeholder.');
      continue;
    }
    if (!ROOTS.has(root)) {
      out.push(`{{${expr}}}: unknown root “${root}” (use trigger, steps, VARIABLES, SECRETS, ENV, run, flow, error, item or index).`);
      continue;
    }
    if ((root === 'item' || root === 'index') && !scope.inLoop) out.push(`{{${expr}}} exists only inside an Apply on Each body.`);
    if (root === 'steps' && (!second || !scope.ids.has(second))) out.push(`{{${expr}}}: there is no block “${second ?? ''}”.`);
    if ((root === 'SECRETS' || root === 'VARIABLES' || root === 'ENV') && (!second || !NAME.test(second)))
      out.push(`{{${expr}}} needs a name: {{${root}.name}}.`);
  }
  return out;
}

/**
 * Every string inside a value, with its path.
 * @param {unknown} value @param {string} path @param {(text: string, path: string) => void} visit
 */
function eachString(value, path, visit) {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) eachString(v, `${path}[${i}]`, visit);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) eachString(v, `${path}.${k}`, visit);
}

/**
 * The problems of a whole definition, by block id (`null`: the trigger and
 * the flow itself).
 * @param {import('./model.js').Definition} def
 * @param {Map<string, { params?: any }>} types
 * @returns {Map<string | null, Issue[]>}
 */
export function flowIssues(def, types) {
  /** @type {Map<string | null, Issue[]>} */
  const out = new Map();
  const add = (/** @type {string | null} */ id, /** @type {Issue} */ issue) => {
    if (!out.has(id)) out.set(id, []);
    /** @type {Issue[]} */ (out.get(id)).push(issue);
  };
  if (typeof def.name !== 'string' || !def.name.trim()) add(null, { field: 'name', message: 'The flow needs a name.' });
  const trigger = def.trigger && typeof def.trigger === 'object' ? def.trigger : null;
  if (!trigger) add(null, { field: 'trigger', message: 'The flow needs a trigger.' });
  else if (trigger.type === 'schedule' && !(typeof trigger.cron === 'string' && trigger.cron.trim().split(/\s+/).length === 5)) {
    add(null, { field: 'trigger.cron', message: 'A cron expression has 5 fields: minute hour day month weekday.' });
  }
  const located = allBlocks(def);
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const { block } of located) counts.set(block.id, (counts.get(block.id) ?? 0) + 1);
  for (const { block, chain, owner } of located) {
    const id = block.id;
    if (!BLOCK_ID.test(id)) add(id, { field: 'id', message: 'An id starts with a letter and has only letters, digits and _.' });
    if ((counts.get(id) ?? 0) > 1) add(id, { field: 'id', message: `Another block also has the id “${id}”.` });
    const type = types.get(block.type);
    if (!type) {
      add(id, { field: 'type', message: `This server has no block type “${block.type}”.` });
      continue;
    }
    const params = block.params;
    if (!params || typeof params !== 'object' || Array.isArray(params)) {
      add(id, { field: 'params', message: 'Missing its settings (params).' });
      continue;
    }
    const schema = type.params && typeof type.params === 'object' ? type.params : null;
    if (schema) for (const issue of checkSchema(schema, params, 'params')) add(id, issue);
    // Which ids a placeholder here may name: this chain's, and every enclosing chain's.
    const ids = new Set(chain.filter(isBlock).map((b) => b.id));
    for (let o = owner; o; ) {
      const outer = located.find((l) => l.block === o);
      for (const b of outer?.chain ?? []) if (isBlock(b)) ids.add(b.id);
      o = outer?.owner ?? null;
    }
    for (const [key, value] of Object.entries(params)) {
      if (key === 'blocks' && nestedChain(block)) continue;
      eachString(value, `params.${key}`, (text, at) => {
        for (const message of templateProblems(text, { ids, inLoop: Boolean(owner) })) add(id, { field: at, message });
      });
    }
    for (const field of ['next', 'then', 'else', 'default', 'onError']) {
      const target = block[field];
      if (typeof target === 'string' && !chain.some((b) => isBlock(b) && b.id === target)) {
        add(id, { field, message: `Leads to “${target}”, which is not in the same chain.` });
      }
    }
  }
  return out;
}
