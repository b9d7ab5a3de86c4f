/**
 * Errors of the domain, thrown by the data layer and the run engine and
 * turned into the contract's responses at the edge (`src/http/errors.ts`),
 * so that nothing below the routes knows about HTTP.
 */

/** No such resource in the caller's tenant (another tenant's resource is the same: not found). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly resource: string) {
    super(`${resource} not found`);
  }
}

/** A request that proves nothing it must (a webhook's signature): 401, and it starts nothing. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** A request the resource's state refuses (a re-run of a run that did not fail, say): 409. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}
