import { z } from '@hono/zod-openapi';
import type { BlockSpec } from './types';

export const DEFAULT_EVENT_TIMEOUT_SECONDS = 86_400;

export const waitForEventParams = z
  .object({
    timeoutSeconds: z.number().int().min(1).max(2_592_000).optional().describe('1–2,592,000 (30 days), default 86,400'),
    onTimeout: z.enum(['fail', 'continue']).optional().describe('default fail; continue: the step ends with data null, via timeout'),
  })
  .strict();

type Params = z.infer<typeof waitForEventParams>;

/**
 * "Wait for Event" (an approval, a reply): the step waits, holding nothing,
 * until an event is delivered to it through the API or its callback URL
 * (`{{callbacks.<id>}}`, which an earlier block can send out), or until its
 * timeout.
 */
export const waitForEventBlock: BlockSpec<Params> = {
  type: 'wait_for_event',
  label: 'Wait for Event',
  category: 'Flow',
  description: 'Waits for an event (an approval, a reply) sent to the run through the API or this step’s callback URL.',
  params: waitForEventParams,
  output: z.object({
    data: z.unknown().describe('the JSON delivered (null on a timeout that continues)'),
    receivedAt: z.string().nullable(),
    via: z.enum(['api', 'callback', 'timeout']),
  }),
  help: 'Pauses the run until an event arrives: POST /v1/runs/<run>/events/<this block> with { "data": … }, or a POST of JSON to {{callbacks.<this block>}}, an unguessable single-use URL an earlier block can send (say, to a chat approve button). The run holds nothing while it waits. Output: { data, receivedAt, via }.',
  acceptsEvents: true,
  async run(params) {
    const until = Date.now() + (params.timeoutSeconds ?? DEFAULT_EVENT_TIMEOUT_SECONDS) * 1000;
    return { awaitEvent: { until, onTimeout: params.onTimeout ?? 'fail' } };
  },
};
