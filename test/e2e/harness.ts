export { allRunsOf, callApi as api, startDevServer, type DevServer } from '../../scripts/dev-server';

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
