import { z } from '@hono/zod-openapi';
import type { Masker } from '../crypto/redact';
import { literalHost, writtenAuthority } from '../flows/secret-destinations';
import { referencedSecrets } from '../flows/templates';
import { hostAllowed, isPrivateHost } from '../lib/egress';
import { MAX_JSON_DEPTH, nestingDepth } from '../lib/json-depth';
import { asText } from './text';
import { StepError, type BlockSpec, type StepContext } from './types';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;
/** A header value is a byte string: anything past Latin-1 is refused before the runtime sees (and logs) it. */
const NOT_A_BYTE_STRING = /[^\u0000-\u00ff]/;

export const MAX_RESPONSE_BODY_BYTES = 256 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 2;
const MAX_REDIRECTS = 5;
/** The longest wait a `Retry-After` header can impose between attempts. */
export const MAX_RETRY_AFTER_MS = 30_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;

export const httpRequestParams = z
  .object({
    method: z.enum(HTTP_METHODS),
    url: z.string().min(1).max(8192).describe('template'),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, 'not a valid header name'),
        z
          .string()
          .max(8192)
          .refine((v) => !HEADER_VALUE_FORBIDDEN.test(v), 'header values may not contain CR, LF or NUL'),
      )
      .optional(),
    body: z.unknown().optional().describe('any JSON; strings inside are templates'),
    timeoutMs: z.number().int().min(1).max(30_000).optional(),
    retries: z.number().int().min(0).max(5).optional(),
    failOnHttpError: z.boolean().optional(),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (params.url.includes('{{')) return;
    const problem = urlProblem(params.url);
    if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
  });

type Params = z.infer<typeof httpRequestParams>;

interface OutgoingRequest {
  method: string;
  url: URL;
  /** How messages name its host: never from a rendered template (see `hostLabel`). */
  label: string;
  /** Whether the host came from a template (first hop) rather than as written or from a redirect. */
  templatedHost: boolean;
  headers: Headers;
  body: string | undefined;
  /** The secrets its templated headers and body carry, by name; a hop that drops them drops these. */
  carried: { headers: ReadonlySet<string>; body: ReadonlySet<string> };
}

function urlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL';
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? null : 'only http and https URLs';
}

/**
 * How messages name the host of the URL the step was given: the host itself
 * when the template wrote it literally, otherwise the host part as the
 * template wrote it. A rendered value (a secret in the userinfo, say, that
 * the URL parser split into the host) never shows, not even in part.
 */
function hostLabel(url: URL, template: unknown): string {
  const authority = typeof template === 'string' ? writtenAuthority(template) : undefined;
  return authority?.includes('{{') ? authority : url.host;
}

/** Builds the request from rendered params; refuses header injection from rendered values. */
function buildRequest(params: Params, template: Readonly<Record<string, unknown>>): OutgoingRequest {
  const urlText = asText(params.url);
  const problem = urlProblem(urlText);
  if (problem) throw new StepError(`url: ${problem}`);
  const headers = new Headers({ 'user-agent': 'PowerFlows/1.0' });
  for (const [name, raw] of Object.entries(params.headers ?? {})) {
    const value = asText(raw);
    if (HEADER_VALUE_FORBIDDEN.test(value)) throw new StepError(`header ${name} contains CR, LF or NUL after rendering`);
    if (NOT_A_BYTE_STRING.test(value))
      throw new StepError(`header ${name} has characters outside Latin-1 after rendering (header values are byte strings)`);
    headers.set(name, value);
  }
  let body: string | undefined;
  if (params.body !== undefined && params.method !== 'GET' && params.method !== 'HEAD') {
    if (typeof params.body === 'string') {
      body = params.body;
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    } else {
      body = JSON.stringify(params.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }
  const url = new URL(urlText);
  return {
    method: params.method,
    url,
    label: hostLabel(url, template.url),
    templatedHost: typeof template.url === 'string' && literalHost(template.url) === null,
    headers,
    body,
    carried: { headers: referencedSecrets(template.headers), body: body === undefined ? new Set() : referencedSecrets(template.body) },
  };
}

/**
 * The egress rules, checked before every request and every redirect hop: no
 * private addresses outside development, and each secret the request
 * carries only where it may go. A secret with `allowedHosts` goes only to
 * those; one without goes only to hosts the flow version names literally
 * (never through a templated host, never on a redirect elsewhere), so that
 * changing a variable or an environment variable cannot move it.
 */
function checkEgress(request: OutgoingRequest, context: StepContext, firstHop: boolean): void {
  const { url } = request;
  if (!context.allowPrivateNetwork && isPrivateHost(url.hostname)) {
    throw new StepError(`requests to private, loopback or link-local addresses are not allowed (${request.label})`);
  }
  for (const name of secretsIn(request, context, firstHop)) {
    const allowed = context.secrets.allowedHosts[name] ?? [];
    if (allowed.length > 0) {
      if (!hostAllowed(url, allowed)) {
        throw new StepError(`secret "${name}" may not be sent to ${request.label} (allowed: ${allowed.join(', ')})`);
      }
    } else if (request.templatedHost) {
      throw new StepError(
        `secret "${name}" has no allowedHosts, so it is never sent to a templated host (${request.label}); set its allowedHosts or write the host literally`,
      );
    } else if (!firstHop && !context.secrets.literalHosts.has(url.host)) {
      throw new StepError(
        `secret "${name}" may not be sent to ${request.label}: without allowedHosts a secret goes only to hosts written in the flow`,
      );
    }
  }
}

/**
 * The secrets a request carries: on the first hop every one its params
 * used; on a redirect those in the headers and body it kept. Plus, always,
 * any value the masker finds in it (a secret that came through another
 * step's output, or that the server echoed into the Location).
 */
function secretsIn(request: OutgoingRequest, context: StepContext, firstHop: boolean): Set<string> {
  const text = [request.url.href, ...[...request.headers].map(([n, v]) => `${n}: ${v}`), request.body ?? ''].join('\n');
  const kept = firstHop ? context.secrets.used : [...request.carried.headers, ...request.carried.body];
  return new Set([...kept, ...context.secrets.masker.secretsIn(text)]);
}

/** Sends once, following redirects by hand so that every hop passes the egress rules. */
async function send(request: OutgoingRequest, context: StepContext, signal: AbortSignal): Promise<Response> {
  let current = request;
  for (let hop = 0; ; hop++) {
    checkEgress(current, context, hop === 0);
    const response = await fetch(current.url, {
      method: current.method,
      headers: current.headers,
      body: current.body,
      redirect: 'manual',
      signal,
    });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) return response;
    if (hop >= MAX_REDIRECTS) throw new StepError(`more than ${MAX_REDIRECTS} redirects`);
    await response.body?.cancel();
    current = redirected(current, response.status, new URL(location, current.url), context);
  }
}

function redirected(previous: OutgoingRequest, status: number, url: URL, context: StepContext): OutgoingRequest {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StepError(`redirect to a ${url.protocol} URL`);
  const keepMethod = status === 307 || status === 308 || previous.method === 'HEAD';
  const headers = new Headers(previous.headers);
  if (!keepMethod) {
    headers.delete('content-type');
    headers.delete('content-length');
  }
  // Like browsers drop Authorization across origins, drop every header that carries a secret.
  const crossOrigin = url.origin !== previous.url.origin;
  if (crossOrigin) {
    for (const [name, value] of [...headers]) {
      const sensitive = name === 'authorization' || name === 'cookie' || context.secrets.masker.secretsIn(value).length > 0;
      if (sensitive) headers.delete(name);
    }
  }
  const body = keepMethod ? previous.body : undefined;
  return {
    method: keepMethod ? previous.method : 'GET',
    url,
    label: url.host, // chosen by the server, not rendered from the flow
    templatedHost: false,
    headers,
    body,
    carried: {
      headers: crossOrigin ? new Set() : previous.carried.headers,
      body: body === undefined ? new Set() : previous.carried.body,
    },
  };
}

/**
 * The step output: status, headers and the body (JSON parsed when it is
 * JSON), capped at 256 KiB. A body over the cap is masked before it is cut,
 * reading far enough past the cap (the masker's longest form) that a secret
 * straddling the cut is masked whole; and since masking shortens the text, a
 * copy split by the read limit can end up inside the kept part: every cut
 * drops any tail that starts a secret form.
 */
async function readResponse(response: Response, masker: Masker): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  const { text, complete } = await readUpTo(response, MAX_RESPONSE_BODY_BYTES + 3 * masker.longest);
  let body: unknown = text;
  const output: Record<string, unknown> = { status: response.status, headers };
  const bytes = new TextEncoder().encode(text);
  if (complete && bytes.length <= MAX_RESPONSE_BODY_BYTES) {
    // Deeper JSON stays text: parsing, storing and reading it back would overflow the stack.
    if (/\bjson\b/i.test(response.headers.get('content-type') ?? '') && nestingDepth(text) <= MAX_JSON_DEPTH) {
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON after all: keep the text
      }
    }
  } else {
    const masked = new TextEncoder().encode(masker.trimPartial(masker.mask(text)));
    body = masker.trimPartial(new TextDecoder().decode(masked.subarray(0, MAX_RESPONSE_BODY_BYTES)).replace(/\uFFFD$/, ''));
    output.truncated = true;
  }
  output.body = body;
  return output;
}

/** Up to `limit` bytes of the body as text, and whether that was all of it. */
async function readUpTo(response: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: '', complete: true };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), complete: true };
    const room = limit - size;
    if (value.byteLength > room) {
      text += decoder.decode(value.subarray(0, room));
      await reader.cancel();
      return { text, complete: false };
    }
    size += value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
}

/** Exponential backoff with jitter; `Retry-After` (seconds or a date) wins, up to a cap. */
export function retryDelay(attempt: number, retryAfter: string | null): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  }
  const exponential = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(exponential * (0.75 + Math.random() * 0.5));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StepError('cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StepError('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Aborts on the run's cancellation or after `timeoutMs`, whichever comes first. */
function attemptSignal(cancel: AbortSignal, timeoutMs: number): { signal: AbortSignal; done(): void; timedOut(): boolean } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onCancel = () => controller.abort();
  cancel.addEventListener('abort', onCancel, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done() {
      clearTimeout(timer);
      cancel.removeEventListener('abort', onCancel);
    },
  };
}

/** "Send HTTP Request", with timeouts, retries on network errors, 429 and 5xx, and egress rules. */
export const httpRequestBlock: BlockSpec<Params> = {
  type: 'http_request',
  label: 'Send HTTP Request',
  category: 'Actions',
  description: 'Calls an outside API, with retries and timeouts; flow secrets go only where they are allowed.',
  output: z.object({
    status: z.number().int(),
    headers: z.record(z.string(), z.string()),
    body: z.unknown().describe('parsed JSON when the response is JSON, else text; at most 256 KiB'),
  }),
  help: 'Calls an outside API: method, URL, headers and a JSON body, all templates. A secret such as {{SECRETS.postmark_api_key}} goes only to the hosts the flow names (or its allowedHosts). Network errors, 429 and 5xx are retried with backoff (`retries`); an HTTP error fails the step unless failOnHttpError is false. Output: { status, headers, body }.',
  params: httpRequestParams,
  secretParams: ['url', 'headers', 'body'],
  async run(params, context) {
    const request = buildRequest(params, context.template);
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const retries = params.retries ?? DEFAULT_RETRIES;
    const host = request.label;
    for (let attempt = 1; ; attempt++) {
      const guard = attemptSignal(context.signal, timeoutMs);
      let outcome: { output: Record<string, unknown>; status: number; retryAfter: string | null } | { failure: string };
      try {
        const response = await send(request, context, guard.signal);
        outcome = {
          output: await readResponse(response, context.secrets.masker),
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
        };
      } catch (err) {
        if (err instanceof StepError) throw err;
        if (context.signal.aborted) throw new StepError('cancelled');
        outcome = { failure: guard.timedOut() ? `timed out after ${timeoutMs} ms` : networkError(err) };
      } finally {
        guard.done();
      }

      const retryable = 'failure' in outcome || outcome.status === 429 || outcome.status >= 500;
      if (retryable && attempt <= retries) {
        const reason = 'failure' in outcome ? outcome.failure : `HTTP ${outcome.status}`;
        const delay = retryDelay(attempt, 'failure' in outcome ? null : outcome.retryAfter);
        context.retrying(attempt + 1, reason, delay);
        await sleep(delay, context.signal);
        continue;
      }
      const tries = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
      if ('failure' in outcome) throw new StepError(`request to ${host} failed after ${tries}: ${outcome.failure}`);
      if (outcome.status >= 400 && (params.failOnHttpError ?? true)) {
        return { output: outcome.output, failed: `HTTP ${outcome.status} from ${host} after ${tries}` };
      }
      return { output: outcome.output };
    }
  },
};

function networkError(err: unknown): string {
  return err instanceof Error ? err.message || err.name : 'network error';
}
