/**
 * SIGKILL under load: `wrangler dev` is killed while runs are being started
 * and executed, then restarted on the same state. Every run the service
 * accepted (and any it created but could not answer for) finishes exactly
 * once, with consecutive seqs; an outside call is repeated only for a step
 * the kill interrupted, as its next attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { allRunsOf, api, startDevServer, stepOf, until, type DevServer } from './harness';

interface Listed {
  id: string;
  status: string;
  trigger: { n: number };
}

describe('killing wrangler dev under load', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer({ vars: { TENANT_RUN_RATE_LIMIT: '100000/1' } }), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('every run finishes exactly once after a SIGKILL mid-load; repeated calls are only interrupted attempts', async () => {
    const created = await api(server, 'POST', '/v1/flows', {
      name: 'under load',
      trigger: { type: 'manual' },
      blocks: [
        { id: 'note', type: 'log', params: { message: 'run {{trigger.n}}' } },
        {
          id: 'send',
          type: 'http_request',
          params: { method: 'POST', url: `${outside.url}/email`, body: { n: '{{trigger.n}}' }, retries: 0 },
        },
        { id: 'done', type: 'log', params: { message: 'sent {{trigger.n}}' } },
      ],
    });
    const flowId = created.body.id as string;

    // 20 clients start runs back to back; the kill lands while they do.
    let next = 0;
    let killed = false;
    const accepted: string[] = [];
    const clients = Array.from({ length: 20 }, async () => {
      while (!killed) {
        const n = next++;
        try {
          const res = await api(server, 'POST', `/v1/flows/${flowId}/runs`, { input: { n } });
          if (res.status === 202) accepted.push(res.body.id);
        } catch {
          // the connection died with the server
        }
      }
    });
    await until(
      async () => accepted.length,
      (count) => count >= 150,
      30_000,
    );
    killed = true;
    await server.kill();
    await Promise.all(clients);

    const restarted = await startDevServer({ stateDir: server.stateDir });
    try {
      // Every accepted run finishes; the list (written in batches) catches up with all of them.
      const runs = await until(
        () => allRunsOf<Listed>(restarted, flowId),
        (items) => accepted.every((id) => items.some((r) => r.id === id)) && items.every((r) => r.status === 'succeeded'),
        60_000,
      );
      expect(runs.length).toBeGreaterThanOrEqual(accepted.length);

      const calls = new Map<number, number>();
      for (const request of outside.requests.filter((r) => r.path === '/email')) {
        const n = JSON.parse(request.body).n as number;
        calls.set(n, (calls.get(n) ?? 0) + 1);
      }
      let repeated = 0;
      for (const listed of runs) {
        const run = (await api(restarted, 'GET', `/v1/runs/${listed.id}`)).body;
        expect(run.status).toBe('succeeded');
        const logs = (await api(restarted, 'GET', `/v1/runs/${listed.id}/logs?limit=1000`)).body.items as Array<{
          seq: number;
          type: string;
          status?: string;
        }>;
        expect(logs.map((e) => e.seq)).toEqual(logs.map((_, i) => i + 1));
        expect(logs.filter((e) => e.type === 'run' && e.status === 'succeeded')).toHaveLength(1);
        const attempts = stepOf(run, 'send').attempts as number;
        const sent = calls.get(listed.trigger.n) ?? 0;
        expect(sent, `run ${listed.id}`).toBeGreaterThanOrEqual(1);
        expect(sent, `run ${listed.id}: calls beyond its attempts`).toBeLessThanOrEqual(attempts);
        if (sent > 1) repeated++;
      }
      // Only a step that was in flight at the kill is repeated: a handful at most, never a wave.
      expect(repeated).toBeLessThanOrEqual(20);
    } finally {
      await restarted.stop();
    }
  });
});
