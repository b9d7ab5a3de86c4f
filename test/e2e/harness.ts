import { type DevServer, startDevServer } from '../../scripts/dev-server';

export { allRunsOf, callApi as api, startDevServer, type DevServer } from '../../scripts/dev-server';

/** SIGKILLs the dev server (no shutdown of any kind) and starts a new one on the same state. */
export async function killAndRestart(server: DevServer): Promise<DevServer> {
  await server.kill();
  return startDevServer({ stateDir: server.stateDir });
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
