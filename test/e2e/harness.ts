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

/** Polls `read` until `done` holds, or fails after `timeoutMs` showing the last value. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One step of a run, by block id. */
export const stepOf = (run: { steps: Array<{ blockId: string }> }, blockId: string): any =>
  run.steps.find((step) => step.blockId === blockId);
