/**
 * What a run may keep of its steps' outputs. A step's output is stored
 * (SQLite refuses a row over 2 MB) and served in the run's view (an RPC
 * answer over 32 MiB fails), so both are bounded: a step keeps at most
 * MAX_STEP_OUTPUT_BYTES, a run at most MAX_RUN_OUTPUT_BYTES in all. A step
 * over either bound fails cleanly, once; nothing over them is ever stored.
 */
export const MAX_STEP_OUTPUT_BYTES = 1024 * 1024;
export const MAX_RUN_OUTPUT_BYTES = 24 * 1024 * 1024;

const encoder = new TextEncoder();

/** The output's size as stored (UTF-8 JSON); null and absent outputs take nothing. */
export function outputBytes(output: unknown): number {
  return output === null || output === undefined ? 0 : encoder.encode(JSON.stringify(output)).byteLength;
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** Why an output cannot be kept by a run that keeps `kept` bytes already, or null when it can. */
export function outputProblem(bytes: number, kept: number, isLoop: boolean): string | null {
  if (bytes > MAX_STEP_OUTPUT_BYTES) {
    const hint = isLoop ? ": a loop keeps each item's last output, so end its chain with a block that keeps only what you need" : '';
    return `its output is ${mib(bytes)}; a step keeps at most ${mib(MAX_STEP_OUTPUT_BYTES)}${hint}`;
  }
  if (kept + bytes > MAX_RUN_OUTPUT_BYTES)
    return `the run already keeps ${mib(kept)} of step outputs; at most ${mib(MAX_RUN_OUTPUT_BYTES)} in all`;
  return null;
}
