/**
 * Finds where a contract error path (`blocks[2].params.url`) sits inside
 * JSON text, so the editor can select and scroll to it; also reports the
 * position of a JSON syntax error. A small position-keeping JSON scanner.
 */

/** @typedef {{ start: number, end: number }} Span */

/**
 * `blocks[2].params.url` → `['blocks', 2, 'params', 'url']`.
 * @param {string} path
 * @returns {Array<string | number>}
 */
export function parsePath(path) {
  /** @type {Array<string|number>} */
  const out = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (const m of path.matchAll(re)) out.push(m[2] !== undefined ? Number(m[2]) : /** @type {string} */ (m[1]));
  return out;
}

/** @param {Array<string|number>} parts */
const keyOf = (parts) => JSON.stringify(parts);

class JsonSyntaxError extends Error {
  /** @param {string} message @param {number} position */
  constructor(message, position) {
    super(message);
    this.position = position;
  }
}

/**
 * Scans `text` and returns the span of every value by path (object members
 * span from their key). Throws JsonSyntaxError with a position.
 * @param {string} text
 * @returns {Map<string, Span>}
 */
function scan(text) {
  /** @type {Map<string, Span>} */
  const spans = new Map();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const fail = (/** @type {string} */ what) => {
    throw new JsonSyntaxError(
      i >= text.length ? 'unexpected end of JSON' : `${what} at "${text.slice(i, i + 12).replace(/\s+/g, ' ')}"`,
      i,
    );
  };
  const string = () => {
    if (text[i] !== '"') fail('expected a string');
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if ((text[i] ?? '') < ' ') fail('control character in string');
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    return /** @type {string} */ (JSON.parse(text.slice(start, i)));
  };
  /** @param {Array<string|number>} path @param {number} spanStart */
  const value = (path, spanStart) => {
    ws();
    const start = spanStart >= 0 ? spanStart : i;
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else {
        for (;;) {
          ws();
          const keyStart = i;
          const key = string();
          ws();
          if (text[i] !== ':') fail('expected ":"');
          i++;
          value([...path, key], keyStart);
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === '}') {
            i++;
            break;
          }
          fail('expected "," or "}"');
        }
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else {
        for (let n = 0; ; n++) {
          value([...path, n], -1);
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            break;
          }
          fail('expected "," or "]"');
        }
      }
    } else if (c === '"') {
      string();
    } else {
      const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
      if (!m) fail('unexpected token');
      i += /** @type {RegExpExecArray} */ (m)[0].length;
    }
    spans.set(keyOf(path), { start, end: i });
  };
  value([], -1);
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return spans;
}

/**
 * Where `path` (or its longest existing prefix) is in `text`.
 * @param {string} text
 * @param {string} path
 * @returns {(Span & { line: number, exact: boolean }) | null}
 */
export function locate(text, path) {
  let spans;
  try {
    spans = scan(text);
  } catch {
    return null;
  }
  const parts = parsePath(path);
  for (let n = parts.length; n >= 0; n--) {
    const span = spans.get(keyOf(parts.slice(0, n)));
    if (span) return { ...span, line: lineOf(text, span.start), exact: n === parts.length };
  }
  return null;
}

/**
 * Null when `text` is valid JSON, else the message, offset and line of the error.
 * @param {string} text
 * @returns {{ message: string, position: number, line: number, column: number } | null}
 */
export function syntaxError(text) {
  try {
    scan(text);
    return null;
  } catch (error) {
    const position = error instanceof JsonSyntaxError ? error.position : 0;
    const line = lineOf(text, position);
    const column = position - text.lastIndexOf('\n', position - 1);
    return { message: error instanceof Error ? error.message : String(error), position, line, column };
  }
}

/** 1-based line of an offset. @param {string} text @param {number} offset */
export function lineOf(text, offset) {
  let line = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}
