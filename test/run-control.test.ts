/**
 * Run control (contract 1.2): a retry policy on any block, waiting for an
 * event, re-running and replaying runs, concurrency limits, against the
 * real executor, D1 and the fake outside API.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { callJson, createFlow, token } from './helpers/api';
import { fakeUrl, received, runToEnd, stepOf, uniquePath, until } from './helpers/runs';

let tok: string;
beforeAll(async () => {
  tok = await token({ tenant: 'control' });
});

const getRun = (runId: string) => callJson('GET', `/v1/runs/${runId}`, { token: tok });

describe('retry policy on any block', () => {
  it('tries a failed step again after its backoff, the run waiting durably meanwhile; attempts count the tries', async () => {
    const key = crypto.randomUUID();
    const flow = await createFlow(tok, {
      blocks: [
        {
          id: 'call',
          type: 'http_request',
          params: { method: 'GET', url: fakeUrl(`/flaky/${key}/2/500`), retries: 0 },
          retry: { attempts: 3, backoffSeconds: 1, factor: 1 },
        },
      ],
    });
    const runId = (await callJson('POST', `/v1/flows/${flow.id}/runs`, { token: tok, body: {} })).body.id as string;
    const waiting = await until(
      () => getRun(runId),
      (r) => r.body.status === 'waiting',
    );
    expect(stepOf(waiting.body, 'call')).toMatchObject({
      status: 'waiting',
      error: `HTTP 500 from 127.0.0.1:${new URL(fakeUrl('/')).port} after 1 attempt`,
    });
    expect(Date.parse(stepOf(waiting.body, 'call').waitingUntil)).toBeGreaterThan(Date.now() - 1000);
    const done = await until(
      () => getRun(runId),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      15_000,
    );
    expect(done.body.status).toBe('succeeded');
    expect(stepOf(done.body, 'call')).toMatchObject({ status: 'succeeded', attempts: 3, output: { status: 200 } });
  });

  it('onError applies after the last attempt', async () => {
    const path = uniquePath('always-500');
    const { run } = await runToEnd(
      tok,
      (
        await createFlow(tok, {
          blocks: [
            {
              id: 'call',
              type: 'http_request',
              params: { method: 'GET', url: fakeUrl(`/status/500?${path}`), retries: 0 },
              retry: { attempts: 1, backoffSeconds: 1 },
              onError: 'alert',
            },
            { id: 'after', type: 'log', params: { message: 'not reached' } },
            { id: 'alert', type: 'log', params: { message: 'gave up: {{error.message}}' } },
          ],
        })
      ).id,
    );
    expect(run.status).toBe('succeeded');
    expect(stepOf(run, 'call')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(stepOf(run, 'after').status).toBe('skipped');
    expect((await received('/status/500')).filter((r) => r.query.includes(path))).toHaveLength(2);
  });

  it('refuses a bad policy with 422 naming it', async () => {
    const bad = await callJson('POST', '/v1/flows', {
      token: tok,
      body: {
        name: 'x',
        trigger: { type: 'manual' },
        blocks: [{ id: 'a', type: 'log', params: { message: 'a' }, retry: { attempts: 11 } }],
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('blocks[0].retry.attempts');
  });
});
