/**
 * Contract 1.1 flow logic: onError, switch, set, for_each, trigger_flow, the
 * flow trigger and GET /v1/blocks, inside workerd against the real executors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson, createFlow, token } from './helpers/api';
import { fakeUrl, indexCaughtUp, runBlocks, runToEnd, setSecret, stepOf, until } from './helpers/runs';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'logic' });
});

const log = (id: string, message: string, extra: Record<string, unknown> = {}) => ({ id, type: 'log', params: { message }, ...extra });
const stepsOf = (run: any, blockId: string) => run.steps.filter((s: any) => s.blockId === blockId);
const save = (blocks: unknown[], extra: Record<string, unknown> = {}) =>
  callJson('POST', '/v1/flows', { token: tok, body: { name: 'Logic', trigger: { type: 'manual' }, blocks, ...extra } });

describe('GET /v1/blocks', () => {
  it('lists every block type with its label, category, params as JSON Schema and branch fields', async () => {
    const res = await callJson('GET', '/v1/blocks', { token: tok });
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.items.map((item: any) => [item.type, item]));
    for (const type of ['log', 'http_request', 'condition', 'delay', 'r2_object', 'set', 'switch', 'for_each', 'trigger_flow']) {
      expect(byType[type], type).toMatchObject({
        label: expect.any(String),
        category: expect.any(String),
        description: expect.any(String),
      });
    }
    expect(byType.http_request.params.properties.method.enum).toContain('POST');
    expect(byType.http_request.params.required).toEqual(expect.arrayContaining(['method', 'url']));
    expect(byType.condition.branches).toEqual(['then', 'else', 'onError']);
    expect(byType.switch.branches).toEqual(['default', 'params.cases[].next', 'onError']);
    expect(byType.log.branches).toEqual(['next', 'onError']);
  });

  it("serves each block's output schema, exits, nested chain, secret params and help: what an editor needs, no copies", async () => {
    const res = await callJson('GET', '/v1/blocks', { token: tok });
    const byType = Object.fromEntries(res.body.items.map((item: any) => [item.type, item]));
    for (const item of res.body.items) {
      expect(item.help.length, item.type).toBeGreaterThan(40);
      expect(item.output, item.type).toEqual(expect.any(Object));
    }
    expect(byType.http_request.output.properties).toHaveProperty('status');
    expect(byType.http_request.secretParams).toEqual(['url', 'headers', 'body']);
    expect(byType.log.secretParams).toEqual(['message']);
    expect(byType.condition.secretParams).toEqual([]);
    expect(byType.condition.exits).toEqual([
      { field: 'then', absent: 'following' },
      { field: 'else', absent: 'following' },
    ]);
    expect(byType.switch.exits).toEqual([
      { cases: 'cases', field: 'next' },
      { field: 'default', absent: 'end' },
    ]);
    expect(byType.log.exits).toEqual([{ field: 'next', absent: 'following' }]);
    expect(byType.for_each.chain).toBe('blocks');
    expect(byType.log.chain).toBeNull();
    expect(byType.image_info.output.required).toEqual(expect.arrayContaining(['key', 'width', 'height', 'format', 'size']));
  });

  it('needs a token with flows:read', async () => {
    expect((await call('GET', '/v1/blocks')).status).toBe(401);
    const runsOnly = await token({ tenant: 'logic', scope: 'runs:read' });
    expect((await callJson('GET', '/v1/blocks', { token: runsOnly })).status).toBe(403);
  });
});

describe('onError', () => {
  it('handles a failing step: the run goes on at the handler, which reads the masked failure, and ends succeeded', async () => {
    const secret = 'sk-onerror-7f3a9c2e11';
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'call',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl('/fail-echo'), headers: { 'X-Token': '{{SECRETS.key}}' }, retries: 0 },
          onError: 'alert',
        },
        log('after', 'not reached'),
        log('alert', 'failed {{error.blockId}}: {{error.message}}', { next: null }),
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'key', secret),
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'call').status).toBe('failed');
    expect(stepOf(run, 'after').status).toBe('skipped');
    expect(stepOf(run, 'alert').output.message).toBe('failed call: HTTP 500 from ' + new URL(fakeUrl('/')).host + ' after 1 attempt');
    expect(JSON.stringify(run)).not.toContain(secret);
  });

  it('fails the run when the handler itself fails', async () => {
    const { run } = await runBlocks(tok, [
      { id: 'call', type: 'http_request', params: { method: 'GET', url: fakeUrl('/status/500'), retries: 0 }, onError: 'handler' },
      { id: 'handler', type: 'http_request', params: { method: 'GET', url: fakeUrl('/status/503'), retries: 0 } },
    ]);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^step "handler" failed: HTTP 503/);
  });

  it('is checked at save time: the target exists, and error paths make no cycle', async () => {
    const missing = await save([log('a', 'x', { onError: 'nowhere' })]);
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toContainEqual({ path: 'blocks[0].onError', message: 'no block with id "nowhere" in this chain' });
    const cycle = await save([log('a', 'x', { onError: 'b' }), log('b', 'y', { next: 'a' })]);
    expect(cycle.status).toBe(422);
    expect(cycle.body.error.details[0].message).toMatch(/makes a cycle/);
  });
});

describe('switch and set', () => {
  const flow = (value: string, withDefault = true) => [
    {
      id: 'pick',
      type: 'switch',
      params: {
        value,
        cases: [
          { equals: 5, next: 'five' },
          { equals: 'jpg', next: 'image' },
        ],
      },
      ...(withDefault ? { default: 'other' } : {}),
    },
    log('five', 'five', { next: null }),
    log('image', 'image', { next: null }),
    log('other', 'other'),
  ];

  it.each([
    ['a number, equal to "5.0"', '{{trigger.n}}', { n: '5.0' }, 0, 'five'],
    ['a string', 'j{{trigger.ext}}', { ext: 'pg' }, 1, 'image'],
    ['no match: default', '{{trigger.n}}', { n: 7 }, null, 'other'],
  ])('on %s', async (_name, value, input, matched, taken) => {
    const { run } = await runBlocks(tok, flow(value), input);
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'pick').output).toEqual({ matched });
    for (const id of ['five', 'image', 'other']) expect(stepOf(run, id).status).toBe(id === taken ? 'succeeded' : 'skipped');
  });

  it('with no match and no default ends the run', async () => {
    const { run } = await runBlocks(tok, flow('{{trigger.n}}', false), { n: 9 });
    expect(run.status).toBe('succeeded');
    expect(run.steps.filter((s: any) => s.status === 'succeeded').map((s: any) => s.blockId)).toEqual(['pick']);
  });

  it('set keeps the types of lone placeholders and renders text', async () => {
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'vals',
          type: 'set',
          params: { values: { size: '{{trigger.size}}', tags: '{{trigger.tags}}', label: 'size {{trigger.size}}', fixed: { a: 1 } } },
        },
        log('say', '{{steps.vals.label}} / {{steps.vals.tags[1]}}'),
      ],
      { size: 1234, tags: ['a', 'b'] },
    );
    expect(stepOf(run, 'vals').output).toEqual({ size: 1234, tags: ['a', 'b'], label: 'size 1234', fixed: { a: 1 } });
    expect(stepOf(run, 'say').output.message).toBe('size 1234 / b');
  });

  it('refuses secrets in every new block at save time', async () => {
    for (const block of [
      { id: 'b', type: 'set', params: { values: { k: '{{SECRETS.k}}' } } },
      { id: 'b', type: 'switch', params: { value: '{{SECRETS.k}}', cases: [{ equals: 'x', next: null }] } },
      { id: 'b', type: 'for_each', params: { items: '{{SECRETS.k}}', blocks: [log('i', 'x')] } },
      { id: 'b', type: 'trigger_flow', params: { flowId: 'flw_01JD3Q2V7X0000000000000000', input: { k: '{{SECRETS.k}}' } } },
    ]) {
      const res = await save([block]);
      expect(res.status, block.type).toBe(422);
      expect(res.body.error.details[0].message).toMatch(/cannot use secrets/);
    }
  });
});

describe('for_each', () => {
  const loop = (items: string, blocks: unknown[], extra: Record<string, unknown> = {}) => ({
    id: 'each',
    type: 'for_each',
    params: { items, blocks, ...extra },
  });

  it('bounds what a loop keeps: 30 items of 900 KB fail the run cleanly once, and its view and ?wait answer 200', async () => {
    const flow = await createFlow(tok, {
      blocks: [loop('{{trigger.items}}', [{ id: 'keep', type: 'set', params: { values: { big: '{{trigger.pad}}' } } }])],
    });
    const input = { items: Array.from({ length: 30 }, (_, i) => i), pad: 'x'.repeat(900_000) };
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs?wait=30`, { token: tok, body: { input } });
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('failed');
    expect(started.body.error).toMatch(
      /step "each" failed: item \d+: step "keep" failed: the run already keeps .* MiB of step outputs; at most 24\.0 MiB in all/,
    );
    const view = await callJson('GET', `/v1/runs/${started.body.id}`, { token: tok });
    expect(view.status).toBe(200);
    const kept = view.body.steps.filter((s: { blockId: string; status: string }) => s.blockId === 'keep' && s.status === 'succeeded');
    expect(kept.length).toBeGreaterThan(20);
    expect(JSON.stringify(view.body).length).toBeLessThan(26 * 1024 * 1024);

    // Few items, but more than a step may keep in all: the loop itself fails, saying how to keep less.
    const few = await runBlocks(
      tok,
      [loop('{{trigger.items}}', [{ id: 'keep', type: 'set', params: { values: { big: '{{trigger.pad}}' } } }])],
      {
        items: [1, 2],
        pad: 'y'.repeat(600_000),
      },
    );
    expect(few.run.status).toBe('failed');
    expect(stepOf(few.run, 'each').error).toMatch(
      /its output is 1\.1 MiB; a step keeps at most 1\.0 MiB: a loop keeps each item's last output/,
    );
  });

  it("runs its chain per item in order, with item and index, and collects each chain's last output", async () => {
    const { run, events } = await runBlocks(
      tok,
      [
        loop('{{trigger.names}}', [
          log('hello', 'hi {{item.name}} #{{index}}'),
          log('bye', 'bye {{item.name}} after {{steps.hello.message}}'),
        ]),
        log('done', '{{steps.each.count}}'),
      ],
      { names: [{ name: 'ann' }, { name: 'bo' }, { name: 'cy' }] },
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'each').output).toEqual({
      count: 3,
      results: ['ann', 'bo', 'cy'].map((name, i) => ({ message: `bye ${name} after hi ${name} #${i}` })),
    });
    expect(stepsOf(run, 'hello').map((s: any) => [s.iteration, s.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    const logs = events.filter((e: any) => e.type === 'log' && e.blockId === 'hello');
    expect(logs.map((e: any) => [e.iteration, e.message])).toEqual([
      [0, 'hi ann #0'],
      [1, 'hi bo #1'],
      [2, 'hi cy #2'],
    ]);
    expect(stepOf(run, 'done').output.message).toBe('3');
  });

  it('over no items succeeds with nothing, and refuses what is not an array', async () => {
    const { run } = await runBlocks(tok, [loop('{{trigger.items}}', [log('x', 'x')])], { items: [] });
    expect(stepOf(run, 'each').output).toEqual({ count: 0, results: [] });
    const bad = await runBlocks(tok, [loop('{{trigger.items}}', [log('x', 'x')])], { items: 'abc' });
    expect(stepOf(bad.run, 'each').error).toBe('items must render to an array, not string');
  });

  it('runs 1,000 items, and refuses 1,001', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const { run } = await runBlocks(tok, [loop('{{trigger.items}}', [log('x', '{{item}}')])], { items });
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'each').output.results.at(-1)).toEqual({ message: '999' });
    const over = await runBlocks(tok, [loop('{{trigger.items}}', [log('x', '{{item}}')])], { items: [...items, 1000] });
    expect(stepOf(over.run, 'each').error).toBe('items has 1001 entries; at most 1000');
  });

  it('keeps at most `concurrency` items in flight', async () => {
    const key = crypto.randomUUID();
    const items = Array.from({ length: 12 }, (_, i) => i);
    const { run } = await runBlocks(
      tok,
      [
        loop('{{trigger.items}}', [{ id: 'call', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/inflight/${key}/150`) } }], {
          concurrency: 5,
        }),
      ],
      { items },
    );
    expect(run.status).toBe('succeeded');
    const counter: any = await (await fetch(fakeUrl(`/__inflight?key=${key}`))).json();
    expect(counter.total).toBe(12);
    expect(counter.max).toBe(5);
  });

  it('fails on an item that fails, unless the chain or the loop handles it', async () => {
    const failing = (extra: Record<string, unknown> = {}) => ({
      id: 'call',
      type: 'http_request',
      params: { method: 'GET', url: `${fakeUrl('/status/')}{{item}}`, retries: 0 },
      ...extra,
    });
    const plain = await runBlocks(tok, [loop('{{trigger.codes}}', [failing()])], { codes: [200, 500, 200] });
    expect(plain.run.status).toBe('failed');
    expect(stepOf(plain.run, 'each').error).toMatch(/^item 1: step "call" failed: HTTP 500/);

    const inChain = await runBlocks(
      tok,
      [loop('{{trigger.codes}}', [failing({ onError: 'note' }), log('note', 'item {{index}}: {{error.message}}')])],
      {
        codes: [200, 500],
      },
    );
    expect(inChain.run.status).toBe('succeeded');
    expect(stepOf(inChain.run, 'each').output.results[1].message).toMatch(/^item 1: HTTP 500/);

    const onLoop = await runBlocks(
      tok,
      [{ ...loop('{{trigger.codes}}', [failing()]), onError: 'alert' }, log('alert', 'loop failed: {{error.message}}')],
      {
        codes: [500],
      },
    );
    expect(onLoop.run.status).toBe('succeeded');
    expect(stepOf(onLoop.run, 'alert').output.message).toMatch(/^loop failed: item 0: step "call" failed/);
  });

  it('is cancellable mid-loop: no new item starts', async () => {
    const key = crypto.randomUUID();
    const flow = await createFlow(tok, {
      blocks: [
        loop('{{trigger.items}}', [{ id: 'call', type: 'http_request', params: { method: 'GET', url: fakeUrl(`/inflight/${key}/300`) } }]),
      ],
    });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, {
      token: tok,
      body: { input: { items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } },
    });
    await until(
      () => fetch(fakeUrl(`/__inflight?key=${key}`)).then((r) => r.json()),
      (c: any) => c.total >= 2,
    );
    expect((await callJson('POST', `/v1/runs/${started.body.id}/cancel`, { token: tok })).status).toBe(202);
    const ended = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'cancelled',
    );
    const counter: any = await (await fetch(fakeUrl(`/__inflight?key=${key}`))).json();
    expect(counter.total).toBeLessThan(10);
    expect(stepsOf(ended.body, 'call').length).toBeLessThan(10);
  });

  it('checks nesting, size and roots at save time', async () => {
    const inner = (id: string, blocks: unknown[]) => ({ id, type: 'for_each', params: { items: '{{item}}', blocks } });
    expect((await save([loop('{{trigger.x}}', [inner('inner', [log('deep', '{{item}}')])])])).status).toBe(201);
    const tooDeep = await save([loop('{{trigger.x}}', [inner('inner', [inner('inner2', [log('deep', 'x')])])])]);
    expect(tooDeep.status).toBe(422);
    expect(tooDeep.body.error.details[0].message).toMatch(/nest at most 2 levels/);
    const outside = await save([log('a', '{{item}}')]);
    expect(outside.body.error.details[0].message).toMatch(/exists only inside a for_each chain/);
    const many = Array.from({ length: 50 }, (_, i) => log(`n${i}`, 'x'));
    const tooMany = await save([
      loop('{{trigger.x}}', many),
      {
        ...loop(
          '{{trigger.y}}',
          many.map((b) => ({ ...b, id: `${b.id}b` })),
        ),
        id: 'each2',
      },
    ]);
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.details[0].message).toMatch(/at most 100 blocks/);
    const dup = await save([loop('{{trigger.x}}', [log('same', 'x')]), log('same', 'y')]);
    expect(dup.body.error.details[0].message).toBe('duplicate block id "same"');
    const badNested = await save([loop('{{trigger.x}}', [{ id: 'n', type: 'log', params: {} }])]);
    expect(badNested.status).toBe(422);
    expect(badNested.body.error.details[0].path).toBe('blocks[0].params.blocks[0].params.message');
  });
});

describe('trigger_flow', () => {
  const child = (blocks: unknown[], extra: Record<string, unknown> = {}) =>
    createFlow(tok, { name: 'Child', trigger: { type: 'flow' }, blocks, ...extra });
  const trigger = (flowId: string, params: Record<string, unknown> = {}) => ({
    id: 'start',
    type: 'trigger_flow',
    params: { flowId, input: { who: '{{trigger.who}}' }, ...params },
  });

  it('starts another flow with input and, without wait, goes on at once', async () => {
    const target = await child([log('greet', 'hello {{trigger.input.who}}')]);
    const { run } = await runBlocks(tok, [trigger(target.id)], { who: 'ann' });
    expect(run.status).toBe('succeeded');
    const { runId } = stepOf(run, 'start').output;
    const childRun = await until(
      () => callJson('GET', `/v1/runs/${runId}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    expect(childRun.body.parentRunId).toBe(run.id);
    expect(childRun.body.trigger).toMatchObject({ type: 'flow', input: { who: 'ann' }, parentRunId: run.id, parentFlowId: run.flowId });
    expect(stepOf(childRun.body, 'greet').output.message).toBe('hello ann');
    await indexCaughtUp(target.id);
    const listed = await callJson('GET', `/v1/runs?flowId=${target.id}`, { token: tok });
    expect(listed.body.items[0].parentRunId).toBe(run.id);
  });

  it('with wait, ends with the child: its last output, or its failure', async () => {
    const good = await child([log('greet', 'hello {{trigger.input.who}}')]);
    const { run } = await runBlocks(tok, [trigger(good.id, { wait: true })], { who: 'bo' });
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'start').output).toMatchObject({ status: 'succeeded', output: { message: 'hello bo' } });

    const bad = await child([{ id: 'boom', type: 'http_request', params: { method: 'GET', url: fakeUrl('/status/500'), retries: 0 } }]);
    const failed = await runBlocks(tok, [trigger(bad.id, { wait: true })], { who: 'x' });
    expect(failed.run.status).toBe('failed');
    expect(stepOf(failed.run, 'start').error).toMatch(/^child run run_\w+ failed: step "boom" failed: HTTP 500/);
  });

  it('waits durably: the parent holds nothing while a child sleeps in a delay', async () => {
    const sleeper = await child([{ id: 'nap', type: 'delay', params: { seconds: 1 } }, log('woke', 'up')]);
    const flow = await createFlow(tok, { blocks: [trigger(sleeper.id, { wait: true })] });
    const started = await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: { input: {} } });
    const waiting = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'waiting',
    );
    expect(stepOf(waiting.body, 'start').status).toBe('running');
    const done = await until(
      () => callJson('GET', `/v1/runs/${started.body.id}`, { token: tok }),
      (r) => r.body.status === 'succeeded',
    );
    expect(stepOf(done.body, 'start').output.output).toEqual({ message: 'up' });
  });

  it("starts nothing for a disabled flow or another tenant's flow", async () => {
    const disabled = await child([log('x', 'x')], { enabled: false });
    const a = await runBlocks(tok, [trigger(disabled.id)]);
    expect(stepOf(a.run, 'start').error).toBe(`flow ${disabled.id} was not found, or is not enabled`);
    const other = await createFlow(await token({ tenant: 'someone-else' }), { blocks: [log('x', 'x')] });
    const b = await runBlocks(tok, [trigger(other.id)]);
    expect(stepOf(b.run, 'start').error).toBe(`flow ${other.id} was not found, or is not enabled`);
    await indexCaughtUp(disabled.id);
    expect((await callJson('GET', `/v1/runs?flowId=${disabled.id}`, { token: tok })).body.items).toHaveLength(0);
  });

  it('fails the step that would start a sixth flow in a chain', async () => {
    // A flow that starts itself: depth 1 … 5 run, the 5th's step fails.
    const flow = await createFlow(tok, { name: 'Recursive', trigger: { type: 'flow' }, blocks: [] });
    const body = {
      name: 'Recursive',
      trigger: { type: 'flow' },
      blocks: [{ id: 'again', type: 'trigger_flow', params: { flowId: flow.id, wait: true, timeoutSeconds: 60 } }],
    };
    expect((await callJson('PUT', `/v1/flows/${flow.id}`, { token: tok, body })).status).toBe(200);
    const { run } = await runToEnd(tok, flow.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/child run run_\w+ failed/);
    const errors: string[] = [];
    let current = run;
    for (let depth = 1; depth < 6; depth++) {
      const step = stepOf(current, 'again');
      errors.push(step.error);
      if (!step.output?.runId) break;
      current = (await callJson('GET', `/v1/runs/${step.output.runId}`, { token: tok })).body;
    }
    expect(errors.at(-1)).toBe('a chain of flows starting flows may be at most 5 deep: this step would start the 6th');
    expect(errors).toHaveLength(5);
  });
});

describe('ui and the flow trigger', () => {
  it("stores a block's ui as given and refuses one over 2 KiB", async () => {
    const ok = await save([log('a', 'x', { ui: { x: 10, y: 20, collapsed: true } })], { trigger: { type: 'flow' } });
    expect(ok.status).toBe(201);
    expect(ok.body.blocks[0].ui).toEqual({ x: 10, y: 20, collapsed: true });
    expect(ok.body.trigger).toEqual({ type: 'flow' });
    const big = await save([log('a', 'x', { ui: { note: 'x'.repeat(3000) } })]);
    expect(big.status).toBe(422);
    expect(big.body.error.details[0].path).toBe('blocks[0].ui');
  });

  it('a step event carries its iteration, and the live log of a loop is ordered', async () => {
    const { events } = await runBlocks(
      tok,
      [{ id: 'each', type: 'for_each', params: { items: '{{trigger.items}}', blocks: [log('x', '{{item}}')] } }],
      { items: ['a', 'b'] },
    );
    const steps = events.filter((e: any) => e.type === 'step' && e.blockId === 'x').map((e: any) => [e.iteration, e.status]);
    expect(steps).toEqual([
      [0, 'running'],
      [0, 'succeeded'],
      [1, 'running'],
      [1, 'succeeded'],
    ]);
    const seqs = events.map((e: any) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});
