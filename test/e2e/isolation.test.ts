/**
 * The servers tests start run from a frozen copy of the Worker: `wrangler
 * dev` reloads the Worker (restarting every Durable Object) when a file it
 * builds from changes, so a save in the checkout during a test would be a
 * crash the test did not make. This is what made the mid-loop SIGKILL test
 * see an item run twice while other work was saving files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../helpers/fake-api';
import { api, type DevServer, startDevServer, until } from './harness';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('a save in the checkout while a test server runs', () => {
  let server: DevServer;
  let outside: FakeApi;
  beforeAll(async () => {
    [server, outside] = await Promise.all([startDevServer(), startFakeApi()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), outside?.close()]);
  });

  it('neither reloads the server nor runs the step in flight again', async () => {
    const flow = await api(server, 'POST', '/v1/flows', {
      name: 'slow call',
      trigger: { type: 'manual' },
      blocks: [{ id: 'call', type: 'http_request', params: { method: 'GET', url: `${outside.url}/slow/3000`, retries: 0 } }],
    });
    const runId = (await api(server, 'POST', `/v1/flows/${flow.body.id}/runs`, {})).body.id as string;
    await until(
      async () => outside.requests.filter((r) => r.path === '/slow/3000').length,
      (n) => n === 1,
      20_000,
    );
    // What an editor's save does to a page file and a source file: the same bytes, a new modification time.
    for (const file of ['web/js/main.js', 'src/index.ts']) {
      const full = path.join(ROOT, file);
      writeFileSync(full, readFileSync(full));
    }
    const run = await until(
      () => api(server, 'GET', `/v1/runs/${runId}`),
      (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
      30_000,
    );
    expect(run.body.status).toBe('succeeded');
    expect(run.body.steps[0].attempts).toBe(1);
    expect(outside.requests.filter((r) => r.path === '/slow/3000')).toHaveLength(1);
    expect(server.output()).not.toMatch(/Reloading local server/);
  });
});
