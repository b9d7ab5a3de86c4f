/**
 * Run ids name the executor that holds the run: `run_` + a time-ordered ULID
 * (so lists sort and paginate by id) + the flow id's ULID + the shard, in
 * Crockford base32. Every route for a run reaches its executor from the id
 * alone, with no lookup. Clients treat the id as opaque.
 */
import { CROCKFORD, idPattern, newId } from '../lib/ids';

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
export const RUN_ID = new RegExp(`^run_${ULID}(${ULID})([0-9A-HJKMNP-TV-Z])$`);
const FLOW_ID = idPattern('flw');

/** At most this many executor shards per flow (one base32 character in the run id). */
export const MAX_SHARDS = CROCKFORD.length;

export function newRunId(flowId: string, shard: number): string {
  if (!FLOW_ID.test(flowId) || !Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) {
    throw new Error(`no executor for flow ${flowId}, shard ${shard}`);
  }
  return `${newId('run')}${flowId.slice('flw_'.length)}${CROCKFORD[shard]}`;
}

/** The flow and shard a run id names, or null for anything that is not a run id. */
export function executorOfRun(runId: string): { flowId: string; shard: number } | null {
  const match = RUN_ID.exec(runId);
  return match ? { flowId: `flw_${match[1]}`, shard: CROCKFORD.indexOf(match[2]!) } : null;
}
