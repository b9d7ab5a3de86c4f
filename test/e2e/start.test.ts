import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startDevServer, type DevServer } from './harness';

describe('npm start: a newcomer gets a running API and a token that works', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(() => server?.stop());

  it('prints the URL and a development token for tenant demo', () => {
    expect(server.output()).toContain(`PowerFlows is running at ${server.url}/`);
    const claims = JSON.parse(Buffer.from(server.token.split('.')[1]!, 'base64url').toString());
    expect(claims.tid).toBe('demo');
    expect(claims.scope.split(' ')).toEqual(
      expect.arrayContaining(['flows:read', 'flows:write', 'secrets:write', 'runs:read', 'runs:write']),
    );
  });

  it('answers /healthz and creates and lists flows with the printed token', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    const created = await api(server, 'POST', '/v1/flows', {
      name: 'First flow',
      trigger: { type: 'manual' },
      blocks: [{ id: 'hello', type: 'log', params: { message: 'Hello from {{flow.name}}' } }],
    });
    expect(created.status).toBe(201);
    const list = await api(server, 'GET', '/v1/flows');
    expect(list.status).toBe(200);
    expect(list.body.items.map((f: { id: string }) => f.id)).toContain(created.body.id);
  });

  it('keeps tenants apart over real HTTP', async () => {
    const other = await server.tokenFor('someone-else');
    const created = await api(server, 'POST', '/v1/flows', {
      name: 'Mine',
      trigger: { type: 'manual' },
      blocks: [],
    });
    const peek = await api(server, 'GET', `/v1/flows/${created.body.id}`, undefined, other);
    expect(peek.status).toBe(404);
  });

  it('npm run token -- --admin mints an operator token; a tenant token claiming admin:keys is refused', async () => {
    const minted = spawnSync('npm', ['run', '-s', 'token', '--', '--admin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(minted.status, minted.stderr).toBe(0);
    const operator = minted.stdout.trim();
    expect((await api(server, 'POST', '/v1/admin/keys/rewrap', undefined, operator)).status).toBe(200);
    const pretender = await server.tokenFor('platform', { scope: 'admin:keys' });
    const refused = await api(server, 'POST', '/v1/admin/keys/rewrap', undefined, pretender);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
  });
});

describe('deploy bundle', () => {
  it('wrangler deploy --dry-run bundles the production Worker offline', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'powerflows-bundle-'));
    try {
      const result = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--env', 'production', '--outdir', outdir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(result.status, result.stderr).toBe(0);
      expect(existsSync(path.join(outdir, 'index.js'))).toBe(true);
      expect(statSync(path.join(outdir, 'index.js')).size).toBeGreaterThan(10_000);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
