import { env } from 'cloudflare:test';
import type { StepContext } from '../../src/blocks/types';
import { EMPTY_MASKER } from '../../src/crypto/redact';

const notInTheseTests = () => Promise.reject(new Error('not in these tests'));

/** A StepContext for running one block directly, outside a run: no secrets, no engine; `overrides` set what a test needs. */
export const stepContext = (overrides: Partial<StepContext> = {}): StepContext => ({
  env,
  tenantId: 'acme',
  runId: 'run_x',
  flowId: 'flw_x',
  log() {},
  retrying() {},
  signal: new AbortController().signal,
  secrets: { used: new Set(), allowedHosts: {}, literalHosts: new Set(), masker: EMPTY_MASKER },
  template: {},
  data: () => {
    throw new Error('not in these tests');
  },
  regexBudget: { left: Number.MAX_SAFE_INTEGER },
  engine: { startFlow: notInTheseTests },
  allowPrivateNetwork: false,
  ...overrides,
});
