import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from './recorded';

/**
 * A small local HTTP server standing in for the outside world (a
 * Postmark-like API). It records every request, so tests can assert exactly
 * what a flow sent. Routes:
 *
 * - `POST /email`: Postmark-like success `{ To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK" }`.
 * - `ANY /echo`: answers 200 with the request's method, path, headers and body as JSON, and
 *   echoes every `x-echo-*` request header back as a response header.
 * - `ANY /status/<code>`: answers that status with `{ status }`.
 * - `ANY /fail-echo`: answers 500 with the request's headers in the body and echoed back as headers.
 * - `ANY /pad/<n>`: answers text: `n` bytes of `a`, then the request's `X-Token` header, then 100 `z`.
 * - `ANY /number?v=<digits>`: answers `{ "n": <v as a JSON number> }`.
 * - `ANY /deep/<n>`: answers JSON arrays nested `n` levels deep.
 * - `ANY /flaky/<key>/<failures>/<code>`: the first `<failures>` calls for `<key>` answer `<code>`
 *   (with `Retry-After` from `?retryAfter=`), later ones 200.
 * - `ANY /slow/<ms>`: answers 200 after `<ms>` milliseconds.
 * - `ANY /inflight/<key>/<ms>`: answers 200 after `<ms>` ms; `GET /__inflight?key=<key>` tells the most requests for `<key>` in flight at once.
 * - `ANY /redirect?to=<url>[&status=<3xx>]`: 302 (or that status) to `<url>`.
 * - `GET /__requests?path=<prefix>`: the recorded requests (not recording itself); `DELETE /__requests` clears them.
 * - `PUT /__jwks` stores a JWKS document that `GET /jwks.json` then serves (an identity provider's keys).
 */
export type { RecordedRequest };

export interface FakeApi {
  port: number;
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeApi(port = 0): Promise<FakeApi> {
  const requests: RecordedRequest[] = [];
  const flakyCounts = new Map<string, number>();
  const inflight = new Map<string, { now: number; max: number; total: number }>();
  let jwks = '{"keys":[]}';

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };

    if (url.pathname === '/__requests') {
      if (req.method === 'DELETE') {
        requests.length = 0;
        return send(200, { cleared: true });
      }
      const prefix = url.searchParams.get('path') ?? '';
      return send(200, { items: requests.filter((r) => r.path.startsWith(prefix)) });
    }

    if (url.pathname === '/__inflight') {
      return send(200, inflight.get(url.searchParams.get('key') ?? '') ?? { now: 0, max: 0, total: 0 });
    }
    if (url.pathname === '/__jwks') {
      jwks = body;
      return send(200, { stored: true });
    }
    if (url.pathname === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(jwks);
    }

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = String(value);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, headers, body, at: Date.now() });

    const [, route, ...rest] = url.pathname.split('/');
    switch (route) {
      case 'email': {
        let to = '';
        try {
          to = (JSON.parse(body) as { To?: string }).To ?? '';
        } catch {
          return send(422, { ErrorCode: 402, Message: 'Invalid JSON' });
        }
        return send(200, {
          To: to,
          SubmittedAt: new Date().toISOString(),
          MessageID: `msg-${requests.length}`,
          ErrorCode: 0,
          Message: 'OK',
        });
      }
      case 'echo': {
        const echoed: Record<string, string> = {};
        for (const [name, value] of Object.entries(headers)) if (name.startsWith('x-echo-')) echoed[name] = value;
        return send(200, { method: req.method, path: url.pathname, query: url.search, headers, body }, echoed);
      }
      case 'pad':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(`${'a'.repeat(Number(rest[0]) || 0)}${headers['x-token'] ?? ''}${'z'.repeat(100)}`);
      case 'number':
        return send(200, { n: Number(url.searchParams.get('v')) });
      case 'deep': {
        const depth = Number(rest[0]) || 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      }
      case 'fail-echo':
        return send(500, { error: 'upstream failed', headers }, { 'x-echo-auth': headers['x-token'] ?? '' });
      case 'status':
        return send(Number(rest[0]) || 500, { status: Number(rest[0]) || 500 });
      case 'flaky': {
        const [key = '', failures = '0', code = '503'] = rest;
        const seen = (flakyCounts.get(key) ?? 0) + 1;
        flakyCounts.set(key, seen);
        if (seen <= Number(failures)) {
          const retryAfter = url.searchParams.get('retryAfter');
          return send(Number(code), { attempt: seen }, retryAfter ? { 'retry-after': retryAfter } : {});
        }
        return send(200, { attempt: seen });
      }
      case 'inflight': {
        const counter = inflight.get(rest[0]!) ?? { now: 0, max: 0, total: 0 };
        inflight.set(rest[0]!, counter);
        counter.now++;
        counter.total++;
        counter.max = Math.max(counter.max, counter.now);
        setTimeout(() => {
          counter.now--;
          send(200, { ok: true });
        }, Number(rest[1]) || 0);
        return;
      }
      case 'slow':
        setTimeout(() => send(200, { slept: Number(rest[0]) }), Number(rest[0]) || 0);
        return;
      case 'redirect':
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/' });
        return res.end();
      default:
        return send(404, { error: 'no such fake route' });
    }
  });

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
