import type { DevServer } from '../../scripts/dev-server';

export { startDevServer, type DevServer } from '../../scripts/dev-server';

/** JSON over HTTP against the dev server. */
export async function api<T = any>(
  server: Pick<DevServer, 'url' | 'token'>,
  method: string,
  route: string,
  body?: unknown,
  token: string = server.token,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}
