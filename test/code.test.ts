import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONSOLE_LINES, runInSandbox, warmSandbox } from '../src/lib/sandbox';
import { callJson, createFlow, flowBody, token } from './helpers/api';
import { allEvents, fakeUrl, runBlocks, setSecret, setVariable, stepOf, until } from './helpers/runs';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'coder' });
});

const code = (id: string, source: string, timeoutMs?: number) => ({
  id,
  type: 'code',
  params: timeoutMs === undefined ? { source } : { source, timeoutMs },
});

/** Runs one code block (manual trigger, `input` as the trigger) and answers the run and its events. */
const runCode = (source: string, input: Record<string, unknown> = {}, timeoutMs?: number) =>
  runBlocks(tok, [code('js', source, timeoutMs)], input);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// First in the file: the QuickJS module is not loaded in this isolate yet.
describe('what a trivial script costs (printed; README "Run Code")', () => {
  it('cold: instantiating the module once per isolate; warm: a runtime, a context and the script', async () => {
    const t0 = performance.now();
    await warmSandbox();
    const load = performance.now() - t0;
    const t1 = performance.now();
    const first = await runInSandbox('return input.a + 1', { a: 1 }, 1000);
    const firstRun = performance.now() - t1;
    expect(first.outcome).toEqual({ ok: true, value: 2 });
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await runInSandbox('return input.a + 1', { a: i }, 1000);
      warm.push(performance.now() - t);
    }
    console.log(
      `code block cost: module instantiation ${load.toFixed(1)} ms, first script ${firstRun.toFixed(2)} ms, warm script median ${median(warm).toFixed(2)} ms (min ${Math.min(...warm).toFixed(2)}, max ${Math.max(...warm).toFixed(2)})`,
    );
    expect(median(warm)).toBeLessThan(50);

    // The same through the engine: a code step next to a log step, warm.
    const { run } = await runBlocks(tok, [
      { id: 'note', type: 'log', params: { message: 'x' } },
      code('js', 'return 1'),
      code('js2', 'return 2'),
    ]);
    const ms = (blockId: string) => Date.parse(stepOf(run, blockId).finishedAt) - Date.parse(stepOf(run, blockId).startedAt);
    console.log(`as steps: log ${ms('note')} ms, first code step ${ms('js')} ms, second ${ms('js2')} ms`);
  });
});

describe('code: what the script gets and gives', () => {
  it('transforms input.trigger into its output, which later steps read', async () => {
    const { run } = await runBlocks(
      tok,
      [
        code(
          'subject',
          "const kb = Math.round(input.trigger.size / 1024);\nreturn { subject: 'New image: ' + input.trigger.key + ' (' + kb + ' KB)', kb };",
        ),
        { id: 'say', type: 'log', params: { message: '{{steps.subject.subject}}' } },
      ],
      { key: 'images/cat.jpg', size: 48213 },
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'subject').output).toEqual({ subject: 'New image: images/cat.jpg (47 KB)', kb: 47 });
    expect(stepOf(run, 'say').output.message).toBe('New image: images/cat.jpg (47 KB)');
  });

  it('input is { trigger, steps, VARIABLES, ENV, run, flow }: never SECRETS, and no secret value anywhere in it', async () => {
    const secret = 'sk_live_9f8e7d6c5b4a3210';
    await callJson('PUT', '/v1/env/region', { token: tok, body: { value: 'eu-west' } });
    const { flow, run } = await runBlocks(
      tok,
      [
        { id: 'first', type: 'log', params: { message: 'calling with {{SECRETS.api_key}}' } },
        code('look', 'return { keys: Object.keys(input), input: input, text: JSON.stringify(input) };'),
      ],
      { hello: 'world' },
      async (flowId) => {
        await setSecret(tok, flowId, 'api_key', secret);
        await setVariable(tok, flowId, 'color', 'blue');
      },
    );
    expect(run.status).toBe('succeeded');
    const out = stepOf(run, 'look').output;
    expect(out.keys).toEqual(['trigger', 'steps', 'VARIABLES', 'ENV', 'run', 'flow']);
    expect(out.input).toEqual({
      trigger: { hello: 'world' },
      steps: { first: { message: 'calling with ***' } },
      VARIABLES: { color: 'blue' },
      ENV: { region: 'eu-west' },
      run: { id: run.id },
      flow: { id: flow.id, name: flow.name },
    });
    expect(out.text).not.toContain(secret);
    expect(JSON.stringify(run)).not.toContain(secret);
  });

  it('turns console lines into log events, masked, at their levels; at most 100 a step', async () => {
    const secret = 'tok_0a1b2c3d4e5f6a7b8c9d';
    const { run } = await runBlocks(
      tok,
      [
        { id: 'uses', type: 'log', params: { message: 'auth {{SECRETS.token}}' } },
        code(
          'talk',
          [
            "console.log('plain', 42, { a: [1, 'two'] }, null, undefined);",
            "console.warn('careful');",
            "console.error('the key is', input.VARIABLES.pasted);",
            "for (let i = 0; i < 150; i++) console.log('line ' + i);",
            'return input.VARIABLES.pasted;',
          ].join('\n'),
        ),
      ],
      {},
      async (flowId) => {
        await setSecret(tok, flowId, 'token', secret);
        await setVariable(tok, flowId, 'pasted', secret); // someone pasted the secret into a variable: masking still hides it
      },
    );
    expect(run.status).toBe('succeeded');
    const lines = (await allEvents(tok, run.id)).filter((e) => e.type === 'log' && e.blockId === 'talk');
    expect(lines.slice(0, 3).map((e) => [e.level, e.message])).toEqual([
      ['info', 'plain 42 {"a":[1,"two"]} null undefined'],
      ['warn', 'careful'],
      ['error', 'the key is ***'],
    ]);
    expect(lines).toHaveLength(MAX_CONSOLE_LINES + 1);
    expect(lines.at(-1)).toMatchObject({ level: 'warn', message: '53 more console lines were not kept (at most 100 per step)' });
    expect(stepOf(run, 'talk').output).toBe('***');
    expect(JSON.stringify(await allEvents(tok, run.id))).not.toContain(secret);
  });

  it('has no fetch, timers, require, process or host objects: only the language and console', async () => {
    const { run } = await runCode(
      'return { fetch: typeof fetch, setTimeout: typeof setTimeout, require: typeof require, process: typeof process, ' +
        'Request: typeof Request, WebSocket: typeof WebSocket, caches: typeof caches, crypto: typeof crypto, env: typeof env };',
    );
    expect(stepOf(run, 'js').output).toEqual({
      fetch: 'undefined',
      setTimeout: 'undefined',
      require: 'undefined',
      process: 'undefined',
      Request: 'undefined',
      WebSocket: 'undefined',
      caches: 'undefined',
      crypto: 'undefined',
      env: 'undefined',
    });
    const { run: calling } = await runCode("return fetch('https://example.com/')");
    expect(stepOf(calling, 'js').error).toBe("the code threw ReferenceError: 'fetch' is not defined (line 1)");
  });

  it('leaves placeholders in the source as written: data comes in through input', async () => {
    const { run } = await runCode("return '{{trigger.key}} stays ' + input.trigger.key", { key: 'k.jpg' });
    expect(stepOf(run, 'js').output).toBe('{{trigger.key}} stays k.jpg');
  });

  it('takes no return as null', async () => {
    const { run } = await runCode("console.log('only a side effect')");
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'js').output).toBeNull();
  });
});

describe('code: failures', () => {
  it('fails the step on a thrown error, naming it and its line', async () => {
    const { run } = await runCode("const a = 1;\nif (a) {\n  throw new TypeError('bad input: ' + a);\n}");
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'js').error).toBe('the code threw TypeError: bad input: 1 (line 3)');
    const { run: thrownValue } = await runCode("throw { reason: 'not an Error' }");
    expect(stepOf(thrownValue, 'js').error).toBe('the code threw {"reason":"not an Error"}');
  });

  it('fails the step on code that does not compile', async () => {
    const { run } = await runCode('return {');
    expect(stepOf(run, 'js').error).toMatch(/^the code does not compile: SyntaxError: /);
  });

  it('fails the step on a return value that is not JSON, naming where', async () => {
    const cases: Array<[source: string, message: string]> = [
      ['return () => 1', 'the return value is a function'],
      ['return { when: new Date(0) }', 'the return value.when is a Date'],
      ['return [1, NaN]', 'the return value[1] is NaN'],
      ['return { big: 10n }', 'the return value.big is a bigint'],
      ['return { s: Symbol("x") }', 'the return value.s is a symbol'],
      ['return new Map()', 'the return value is a Map'],
      ['const o = { a: {} }; o.a.back = o; return o', 'the return value.a.back refers back to itself'],
      ['return { u: undefined }', 'the return value.u is undefined'],
    ];
    for (const [source, message] of cases) {
      const { run } = await runCode(source);
      expect(stepOf(run, 'js').error, source).toBe(
        `the code must return JSON: TypeError: ${message}, which JSON cannot hold`.replace(
          ' refers back to itself, which JSON cannot hold',
          ' refers back to itself',
        ),
      );
    }
    // The same object twice is fine: only a cycle is refused.
    const { run } = await runCode('const shared = { x: 1 }; return [shared, shared]');
    expect(stepOf(run, 'js').output).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it('stops a script that allocates without bound at 64 MiB, and the next script runs as usual', async () => {
    const started = Date.now();
    const { run } = await runCode("const hoard = [];\nfor (;;) hoard.push({ n: hoard.length, s: 'v' + hoard.length });", {}, 5000);
    expect(stepOf(run, 'js').error).toBe('the code used more than 64 MiB of memory and was stopped');
    expect(Date.now() - started).toBeLessThan(5000);
    const { run: after } = await runCode('return [1, 2, 3].map((n) => n * 2)');
    expect(stepOf(after, 'js').output).toEqual([2, 4, 6]);
  });

  it('stops an endless loop at timeoutMs; a run waiting meanwhile finishes no later than that', async () => {
    // Another flow's run is waiting on an outside request (answered after 300 ms) when the loop starts.
    const other = await createFlow(tok, {
      blocks: [
        { id: 'call', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/slow/300?k=${crypto.randomUUID()}`), retries: 0 } },
        { id: 'after', type: 'log', params: { message: 'done' } },
      ],
    });
    const stuck = await createFlow(tok, { blocks: [code('spin', 'for (;;) {}', 1000)] });
    const waiting = await callJson('POST', `/v1/flows/${other.id}/runs`, { token: tok, body: { input: {} } });
    await until(
      () => callJson('GET', `/v1/runs/${waiting.body.id}`, { token: tok }),
      (r) => stepOf(r.body, 'call')?.status === 'running',
    );
    const spinning = await callJson('POST', `/v1/flows/${stuck.id}/runs`, { token: tok, body: { input: {} } });

    const spun = await until(
      () => callJson('GET', `/v1/runs/${spinning.body.id}`, { token: tok }),
      (r) => r.body.status === 'failed',
    );
    const step = stepOf(spun.body, 'spin');
    expect(step.error).toBe('the code ran longer than 1000 ms and was stopped');
    const spent = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
    expect(spent).toBeGreaterThanOrEqual(1000);
    expect(spent).toBeLessThan(2000);

    const done = await until(
      () => callJson('GET', `/v1/runs/${waiting.body.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    // Locally one thread runs every object: the waiting run was held up by the loop, and not past its interrupt.
    const finished = Date.parse(done.body.finishedAt);
    expect(finished).toBeGreaterThan(Date.parse(step.startedAt));
    expect(finished).toBeLessThanOrEqual(Date.parse(step.finishedAt) + 500);
    console.log(
      `endless loop: stopped after ${spent} ms; the waiting run finished ${finished - Date.parse(step.finishedAt)} ms after that`,
    );
  });

  it('stops a deep recursion with a clear error, and the next script runs as usual', async () => {
    const { run } = await runCode('const f = (n) => f(n + 1) + 1; return f(0);');
    expect(stepOf(run, 'js').error).toBe('the code recursed too deeply (the stack overflowed) and was stopped');
    const { run: after } = await runCode('const f = (n) => (n === 0 ? 0 : f(n - 1) + 1); return f(500);');
    expect(stepOf(after, 'js').output).toBe(500);
  });
});

describe('code: saving', () => {
  it('refuses {{SECRETS…}} anywhere in the source, a timeout outside 10–5000 ms, and a source over 64 KiB (422)', async () => {
    const bodies: Array<[params: Record<string, unknown>, message: RegExp]> = [
      [{ source: "return '{{SECRETS.api_key}}'" }, /code blocks cannot use secrets/],
      [{ source: '// {{ SECRETS.x }}\nreturn 1' }, /code blocks cannot use secrets/],
      [{ source: 'return 1', timeoutMs: 5 }, /./],
      [{ source: 'return 1', timeoutMs: 5001 }, /./],
      [{ source: 'return 1', timeoutMs: 100.5 }, /./],
      [{ source: `return '${'x'.repeat(64 * 1024)}'` }, /at most 64 KiB/],
      [{ source: '' }, /./],
    ];
    for (const [params, message] of bodies) {
      const res = await callJson('POST', '/v1/flows', { token: tok, body: flowBody({ blocks: [{ id: 'js', type: 'code', params }] }) });
      expect(res.status, JSON.stringify(params).slice(0, 80)).toBe(422);
      expect(res.body.error.details[0].path).toMatch(/^blocks\[0\]\.params\./);
      expect(res.body.error.details[0].message).toMatch(message);
    }
  });
});
