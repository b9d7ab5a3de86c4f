/**
 * Runs untrusted JavaScript (the `code` block) in QuickJS compiled to
 * WebAssembly, inside this isolate: its own heap (64 MiB at most), no
 * globals but the language's own and a `console`, so no network, timers,
 * storage or host objects. An interrupt handler stops it at its deadline.
 *
 * The variant is `@jitl/quickjs-wasmfile-release-sync`: synchronous (no
 * asyncify, so smaller and faster), a separate .wasm file that wrangler
 * bundles as a compiled WebAssembly.Module (workerd cannot compile WebAssembly
 * from bytes at run time, which rules out the single-file variants).
 *
 * The script runs on the isolate's thread: while it runs, nothing else in
 * this isolate does. The interrupt handler is what bounds that; QuickJS calls
 * it every 10,000 or so interpreter steps (jumps back and calls).
 */
import baseVariant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import wasmModule from '../../node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm';

export const SANDBOX_MEMORY_BYTES = 64 * 1024 * 1024;
const STACK_BYTES = 256 * 1024;
/** console lines kept per script, and characters per line; more are counted, not kept. */
export const MAX_CONSOLE_LINES = 100;
const MAX_CONSOLE_LINE_CHARS = 8 * 1024;
/** The largest return value, as JSON text. */
export const MAX_RESULT_CHARS = 1024 * 1024;
/**
 * Deployed Workers advance the clock only on I/O, so during a script
 * `Date.now()` stands still. Then the interrupt handler's calls bound the
 * work instead: this many per millisecond of the timeout (a tight loop makes
 * about 5 a millisecond on this machine's workerd).
 */
const POLLS_PER_MS_WHEN_CLOCK_STANDS = 10;

export type ConsoleLevel = 'info' | 'warn' | 'error';
export interface ConsoleLine {
  level: ConsoleLevel;
  message: string;
}

export type SandboxOutcome = { ok: true; value: unknown } | { ok: false; error: string };

export interface SandboxRun {
  outcome: SandboxOutcome;
  /** What the script wrote to its console, in order (at most MAX_CONSOLE_LINES). */
  console: ConsoleLine[];
  /** console lines past MAX_CONSOLE_LINES, not kept. */
  droppedLines: number;
}

let loading: Promise<QuickJSWASMModule> | undefined;

/** The QuickJS module, instantiated once per isolate (the cold cost), or again after one went wrong. */
function quickjs(): Promise<QuickJSWASMModule> {
  if (!loading) {
    loading = newQuickJSWASMModuleFromVariant(newVariant(baseVariant, { wasmModule }));
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

/** Instantiates the module now, so the first script does not pay for it (and to measure what it costs). */
export async function warmSandbox(): Promise<void> {
  await quickjs();
}

/**
 * Calls `source` as the body of `function (input) { "use strict"; … }` with
 * `input` (JSON), and answers its return value (which must be JSON;
 * `undefined` becomes null) or why it failed.
 */
export async function runInSandbox(source: string, input: unknown, timeoutMs: number): Promise<SandboxRun> {
  const qjs = await quickjs();
  const lines: ConsoleLine[] = [];
  let dropped = 0;
  const runtime = qjs.newRuntime();
  let broken = false;
  try {
    runtime.setMemoryLimit(SANDBOX_MEMORY_BYTES);
    runtime.setMaxStackSize(STACK_BYTES);
    const deadline = startDeadline(runtime, timeoutMs);
    const vm = runtime.newContext();
    let done = false;
    try {
      installConsole(vm, (level, message) => {
        if (lines.length < MAX_CONSOLE_LINES) lines.push({ level, message });
        else dropped++;
      });
      const outcome = run(vm, source, JSON.stringify(input ?? null), timeoutMs, deadline);
      done = true;
      return { outcome, console: lines, droppedLines: dropped };
    } finally {
      if (done) vm.dispose();
    }
  } catch (err) {
    // Thrown by the host, not inside QuickJS: the WebAssembly stack overflowed (deep recursion outruns QuickJS's own
    // stack check there) or a handle was misused. The instance may be half-way through anything: abandon it (its
    // memory goes with it) and start from a fresh module next time.
    broken = true;
    loading = undefined;
    const error =
      err instanceof RangeError && /call stack/i.test(err.message)
        ? 'the code recursed too deeply (the stack overflowed) and was stopped'
        : `the sandbox failed: ${err instanceof Error ? err.message : String(err)}`;
    return { outcome: { ok: false, error }, console: lines, droppedLines: dropped };
  } finally {
    if (!broken) runtime.dispose();
  }
}

/** Stops the script once `timeoutMs` have passed (or, with the clock standing still, the equivalent work); reports whether it did. */
function startDeadline(runtime: QuickJSRuntime, timeoutMs: number): { expired: boolean } {
  const state = { expired: false };
  const started = Date.now();
  let polls = 0;
  let clockMoves = false;
  runtime.setInterruptHandler(() => {
    polls++;
    const now = Date.now();
    if (now !== started) clockMoves = true;
    if (now - started > timeoutMs || (!clockMoves && polls > timeoutMs * POLLS_PER_MS_WHEN_CLOCK_STANDS)) state.expired = true;
    return state.expired;
  });
  return state;
}

/** `console.log/info/debug` (info), `console.warn`, `console.error`: each call one line, its arguments joined by spaces. */
function installConsole(vm: QuickJSContext, write: (level: ConsoleLevel, message: string) => void): void {
  const consoleObject = vm.newObject();
  const methods: Array<[string, ConsoleLevel]> = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
  ];
  for (const [name, level] of methods) {
    const fn = vm.newFunction(name, (...args) => {
      const text = args.map((arg) => describe(vm, arg)).join(' ');
      write(level, text.length > MAX_CONSOLE_LINE_CHARS ? `${text.slice(0, MAX_CONSOLE_LINE_CHARS)}…` : text);
    });
    vm.setProp(consoleObject, name, fn);
    fn.dispose();
  }
  vm.setProp(vm.global, 'console', consoleObject);
  consoleObject.dispose();
}

/** A console argument as text: strings as they are, other values as JSON where they have one. */
function describe(vm: QuickJSContext, handle: QuickJSHandle): string {
  const type = vm.typeof(handle);
  if (type === 'string') return vm.getString(handle);
  if (type === 'undefined' || type === 'function' || type === 'symbol') return type === 'undefined' ? 'undefined' : `[${type}]`;
  try {
    const value: unknown = vm.dump(handle);
    if (typeof value === 'string' && type === 'object') return value;
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `[${type}]`;
  }
}

/**
 * Checks, inside the sandbox (under its limits), that a value is JSON:
 * null, booleans, finite numbers, strings, arrays and plain objects, without
 * cycles; answers its JSON text, or throws naming the first offending path.
 */
const TO_JSON = `(function (value) {
  if (value === undefined) return 'null';
  var ancestors = [];
  function check(v, path) {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!isFinite(v)) throw new TypeError(path + ' is ' + v + ', which JSON cannot hold');
      return;
    }
    if (typeof v !== 'object') throw new TypeError(path + ' is ' + (typeof v === 'undefined' ? 'undefined' : 'a ' + typeof v) + ', which JSON cannot hold');
    if (ancestors.indexOf(v) >= 0) throw new TypeError(path + ' refers back to itself');
    var array = Array.isArray(v);
    var proto = Object.getPrototypeOf(v);
    if (!array && proto !== Object.prototype && proto !== null) {
      var name = proto && proto.constructor && proto.constructor.name;
      throw new TypeError(path + ' is ' + (name ? 'a ' + name : 'not a plain object') + ', which JSON cannot hold');
    }
    ancestors.push(v);
    if (array) for (var i = 0; i < v.length; i++) check(v[i], path + '[' + i + ']');
    else for (var key of Object.keys(v)) check(v[key], path + '.' + key);
    ancestors.pop();
  }
  check(value, 'the return value');
  return JSON.stringify(value);
})`;

function run(vm: QuickJSContext, source: string, inputJson: string, timeoutMs: number, deadline: { expired: boolean }): SandboxOutcome {
  const failure = (stage: 'compile' | 'run' | 'result', error: QuickJSHandle): SandboxOutcome => {
    const message = errorText(vm, error);
    error.dispose();
    if (deadline.expired) return { ok: false, error: `the code ran longer than ${timeoutMs} ms and was stopped` };
    if (/out of memory/i.test(message))
      return { ok: false, error: `the code used more than ${SANDBOX_MEMORY_BYTES / (1024 * 1024)} MiB of memory and was stopped` };
    if (/stack overflow/i.test(message)) return { ok: false, error: 'the code recursed too deeply (the stack overflowed) and was stopped' };
    if (stage === 'compile') return { ok: false, error: `the code does not compile: ${message}` };
    if (stage === 'result') return { ok: false, error: `the code must return JSON: ${message}` };
    return { ok: false, error: `the code threw ${message}` };
  };

  // The result check is compiled first, while the script has not yet used any of the memory it needs.
  const toJson = vm.unwrapResult(vm.evalCode(TO_JSON, 'powerflows-result.js'));
  try {
    return runWith(vm, source, inputJson, toJson, failure);
  } finally {
    toJson.dispose();
  }
}

function runWith(
  vm: QuickJSContext,
  source: string,
  inputJson: string,
  toJson: QuickJSHandle,
  failure: (stage: 'compile' | 'run' | 'result', error: QuickJSHandle) => SandboxOutcome,
): SandboxOutcome {
  const sourceHandle = vm.newString(`"use strict";\n${source}`);
  vm.setProp(vm.global, '__source', sourceHandle);
  sourceHandle.dispose();
  const compiled = vm.evalCode(
    "(function () { var s = globalThis.__source; delete globalThis.__source; return new Function('input', s); })()",
    'powerflows.js',
  );
  if (compiled.error) return failure('compile', compiled.error);
  const fn = compiled.value;
  try {
    const inputHandle = parseJson(vm, inputJson);
    if (inputHandle.error) return failure('run', inputHandle.error);
    const called = vm.callFunction(fn, vm.undefined, inputHandle.value);
    inputHandle.value.dispose();
    if (called.error) return failure('run', called.error);
    const checked = vm.callFunction(toJson, vm.undefined, called.value);
    called.value.dispose();
    if (checked.error) return failure('result', checked.error);
    const text = vm.getString(checked.value);
    checked.value.dispose();
    if (text.length > MAX_RESULT_CHARS)
      return { ok: false, error: `the return value is ${text.length} characters of JSON: at most ${MAX_RESULT_CHARS} are kept` };
    return { ok: true, value: JSON.parse(text) };
  } finally {
    fn.dispose();
  }
}

/** `JSON.parse(text)` inside the sandbox. */
function parseJson(vm: QuickJSContext, text: string) {
  const json = vm.getProp(vm.global, 'JSON');
  const parse = vm.getProp(json, 'parse');
  const textHandle = vm.newString(text);
  const result = vm.callFunction(parse, json, textHandle);
  textHandle.dispose();
  parse.dispose();
  json.dispose();
  return result;
}

/** `Name: message (line n)` of a thrown value, the line counted in the script as written. */
function errorText(vm: QuickJSContext, error: QuickJSHandle): string {
  let dumped: unknown;
  try {
    dumped = vm.dump(error);
  } catch {
    return 'an error';
  }
  if (!dumped || typeof dumped !== 'object') return typeof dumped === 'string' ? dumped : (JSON.stringify(dumped) ?? String(dumped));
  const { name, message, stack } = dumped as { name?: unknown; message?: unknown; stack?: unknown };
  if (typeof message !== 'string') return JSON.stringify(dumped) ?? 'an error';
  const line = typeof stack === 'string' ? /<input>:(\d+)/.exec(stack)?.[1] : undefined;
  // new Function puts two lines before the body, and "use strict" one more.
  const at = line && Number(line) > 3 ? ` (line ${Number(line) - 3})` : '';
  return `${typeof name === 'string' ? name : 'Error'}: ${message}${at}`;
}
