import { describe, expect, it } from 'vitest';
import { evaluate, patternProblem } from '../src/blocks/condition';
import { httpRequestBlock, retryDelay } from '../src/blocks/http-request';
import { StepError } from '../src/blocks/types';
import { createMasker } from '../src/crypto/redact';
import { render, TemplateError, type TemplateContext } from '../src/flows/templates';
import { hostAllowed, isPrivateHost } from '../src/lib/egress';
import { keyProblem } from '../src/lib/object-keys';
import { fakeUrl, received, uniquePath } from './helpers/runs';
import { stepContext } from './helpers/step-context';

describe('condition operators', () => {
  const cases: Array<[Parameters<typeof evaluate>[0], unknown, unknown, boolean]> = [
    ['eq', 'a', 'a', true],
    ['eq', '1.0', '1', true],
    ['eq', 5, '5', true],
    ['eq', 'a', 'b', false],
    ['ne', 'a', 'b', true],
    ['ne', '2', 2, false],
    ['gt', '10', '9', true], // numbers, not text ("10" < "9" as text)
    ['gt', 'b', 'a', true],
    ['gte', '3', '3', true],
    ['lt', '-2', '1e3', true],
    ['lte', 4, '4.0', true],
    ['lt', '10', 'abc', true], // mixed: compared as text
    ['contains', 'hello world', 'o w', true],
    ['contains', ['cat', 'dog'], 'dog', true],
    ['contains', ['cat', 'dog'], 'do', false],
    ['startsWith', 'images/cat.jpg', 'images/', true],
    ['endsWith', 'images/cat.jpg', '.png', false],
    ['matches', 'cat.JPG', '\\.jpe?g$', false],
    ['matches', 'cat.jpeg', '\\.jpe?g$', true],
    ['exists', 'x', '', true],
    ['exists', '', '', false],
    ['exists', null, '', false],
    ['exists', 0, '', true],
  ];
  it.each(cases)('%s(%j, %j) is %s', (op, left, right, expected) => {
    expect(evaluate(op, left, right)).toBe(expected);
  });

  it('matches in linear time: patterns that backtrack catastrophically elsewhere finish at once', () => {
    expect(evaluate('matches', `${'a'.repeat(9000)}b`, '^(a|a)*$')).toBe(false);
    expect(evaluate('matches', 'a'.repeat(9000), '^.*.*.*.*x$')).toBe(false);
    expect(evaluate('matches', `${'a'.repeat(5000)}!`, '^(a+)+$')).toBe(false); // a backtracking engine never returns here
  });

  it('refuses invalid patterns and bounds the tested input', () => {
    expect(patternProblem('(a')).toMatch(/not a valid regular expression/);
    expect(patternProblem('(?<=a)b')).toMatch(/RE2 syntax/);
    expect(patternProblem('x'.repeat(513))).toMatch(/longer than 512/);
    expect(patternProblem('^(a|b)+\\.jpg$')).toBeNull();
    expect(() => evaluate('matches', 'aaaa', '(')).toThrow(StepError);
    // Only the first 10,000 characters are tested.
    expect(evaluate('matches', `${'x'.repeat(10_000)}needle`, 'needle')).toBe(false);
    expect(evaluate('matches', `${'x'.repeat(9_000)}needle`, 'needle')).toBe(true);
  });
});

describe('templates', () => {
  const context: TemplateContext = {
    trigger: { size: 1234, key: 'images/cat.jpg', tags: ['a', 'b'], nested: { ok: true }, 'x-hdr': 'h' },
    steps: { fetch: { status: 200, body: { items: [{ id: 7 }] } } },
    variables: { region: 'eu' },
    env: { stage: 'prod' },
    secrets: { api_key: 'sk-live-123' },
    run: { id: 'run_1' },
    flow: { id: 'flw_1', name: 'Flow' },
  };

  it('a lone placeholder keeps its JSON type; embedded ones become text', () => {
    expect(render('{{trigger.size}}', context)).toBe(1234);
    expect(render('{{ trigger.nested }}', context)).toEqual({ ok: true });
    expect(render('{{trigger.tags}}', context)).toEqual(['a', 'b']);
    expect(render('size={{trigger.size}} tags={{trigger.tags}}', context)).toBe('size=1234 tags=["a","b"]');
    expect(render({ a: ['{{steps.fetch.body.items[0].id}}', '{{steps.fetch.body.items.0.id}}'] }, context)).toEqual({ a: [7, 7] });
    expect(render('{{run.id}}/{{flow.id}}/{{flow.name}}/{{VARIABLES.region}}/{{trigger.x-hdr}}', context)).toBe('run_1/flw_1/Flow/eu/h');
  });

  it('a missing path is empty; a missing secret or variable fails naming it', () => {
    expect(render('[{{trigger.nope.deeper}}]', context)).toBe('[]');
    expect(render('{{trigger.nope}}', context)).toBe('');
    expect(() => render('{{SECRETS.other_key}}', context)).toThrow(new TemplateError('secret "other_key" is not set for this flow'));
    expect(() => render('{{VARIABLES.zone}}', context)).toThrow(/variable "zone"/);
  });

  it('records which secrets were used, and never walks prototypes or evaluates anything', () => {
    const used = new Set<string>();
    expect(render({ h: 'Bearer {{SECRETS.api_key}}' }, context, used)).toEqual({ h: 'Bearer sk-live-123' });
    expect([...used]).toEqual(['api_key']);
    expect(render('{{trigger.constructor}}', context)).toBe('');
    expect(render('{{trigger.__proto__}}', context)).toBe('');
    expect(render('{{trigger.toString}}', context)).toBe('');
    expect(render('{{trigger.tags.length}}', context)).toBe(2); // an own property of arrays: handy, harmless
    expect(render('{{ trigger.size * 2 }}', context)).toBe('');
  });
});

describe('egress rules', () => {
  it('recognises private, loopback and link-local hosts', () => {
    for (const host of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '198.18.0.1',
      '192.0.0.8',
      'localhost',
      'db.internal',
      '[::1]',
      '[::]',
      '[fd00::1]',
      '[fe80::1]',
      '[fec0::1]',
      '[::ffff:127.0.0.1]',
      '[::7f00:1]',
      '[::ffff:0:7f00:1]',
      '[64:ff9b::a9fe:a9fe]',
      // Single-label names (a cluster's own hosts), 6to4 carrying a private IPv4, documentation ranges.
      'vm',
      'runsc',
      'metadata',
      '[2002:c0a8:101::1]',
      '[2002:7f00:1::]',
      '[2002:a9fe:a9fe::]',
      '192.0.2.10',
      '198.51.100.7',
      '203.0.113.9',
    ]) {
      expect(isPrivateHost(new URL(`http://${host}/`).hostname), host).toBe(true);
    }
    for (const host of [
      'api.postmarkapp.com',
      '8.8.8.8',
      '172.32.0.1',
      '[2606:4700::1111]',
      '[::ffff:8.8.8.8]',
      '[64:ff9b::808:808]',
      '[2002:808:808::1]',
      '203.0.114.1',
    ]) {
      expect(isPrivateHost(new URL(`http://${host}/`).hostname), host).toBe(false);
    }
    // Numeric and hex forms are normalised by the URL parser first.
    expect(isPrivateHost(new URL('http://2130706433/').hostname)).toBe(true);
    expect(isPrivateHost(new URL('http://0x7f.1/').hostname)).toBe(true);
  });

  it('matches allowed hosts exactly, by subdomain wildcard, and by port', () => {
    const url = (u: string) => new URL(u);
    expect(hostAllowed(url('https://api.postmarkapp.com/email'), ['api.postmarkapp.com'])).toBe(true);
    expect(hostAllowed(url('https://api.postmarkapp.com.evil.com/'), ['api.postmarkapp.com'])).toBe(false);
    expect(hostAllowed(url('https://evilapi.postmarkapp.com/'), ['api.postmarkapp.com'])).toBe(false);
    expect(hostAllowed(url('https://a.b.example.com/'), ['*.example.com'])).toBe(true);
    expect(hostAllowed(url('https://example.com/'), ['*.example.com'])).toBe(false);
    expect(hostAllowed(url('http://127.0.0.1:8080/'), ['127.0.0.1:8080'])).toBe(true);
    expect(hostAllowed(url('http://127.0.0.1:9090/'), ['127.0.0.1:8080'])).toBe(false);
  });

  it('object keys cannot leave the tenant namespace', () => {
    for (const key of ['../other/x.jpg', 'a/../../b', '/abs.jpg', 'a//b', 'a/./b', 'a\\b', 'dir/', '', 'x\u0000y']) {
      expect(keyProblem(key), JSON.stringify(key)).not.toBeNull();
    }
    expect(keyProblem('images/2026/cat.jpg')).toBeNull();
    expect(keyProblem('..hidden/file..jpg')).toBeNull();
  });
});

describe('http_request block, directly', () => {
  const context = stepContext;

  it('in production refuses loopback and private addresses before sending', async () => {
    const path = uniquePath('private');
    await expect(httpRequestBlock.run({ method: 'GET', url: fakeUrl(path) }, context())).rejects.toThrow(/private, loopback or link-local/);
    await expect(httpRequestBlock.run({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data' }, context())).rejects.toThrow(
      /private/,
    );
    expect(await received(path)).toHaveLength(0);
  });

  it('refuses header values that gained CR/LF through a template (header injection)', async () => {
    await expect(
      httpRequestBlock.run(
        { method: 'GET', url: 'https://example.com/', headers: { 'X-A': 'ok\r\nX-Injected: 1' } },
        context({ allowPrivateNetwork: true }),
      ),
    ).rejects.toThrow(/CR, LF or NUL/);
  });

  it('follows no redirect that would carry a secret outside its allowedHosts', async () => {
    const path = uniquePath('echo');
    const masker = createMasker(new Map([['api_key', 'sk-redirect-secret-1']]));
    const target = fakeUrl(path).replace('127.0.0.1', 'localhost');
    const result = httpRequestBlock.run(
      { method: 'POST', url: fakeUrl(`/redirect?status=307&to=${encodeURIComponent(target)}`), body: { key: 'sk-redirect-secret-1' } },
      context({
        allowPrivateNetwork: true,
        secrets: {
          used: new Set(['api_key']),
          allowedHosts: { api_key: [`127.0.0.1:${new URL(fakeUrl('/')).port}`] },
          literalHosts: new Set(),
          masker,
        },
      }),
    );
    await expect(result).rejects.toThrow(/secret "api_key" may not be sent to localhost/);
    expect(await received(path)).toHaveLength(0);
  });

  it('drops headers carrying a secret on a cross-origin redirect when the secret is unrestricted', async () => {
    const path = uniquePath('echo');
    const masker = createMasker(new Map([['api_key', 'sk-unrestricted-2']]));
    const target = fakeUrl(path).replace('127.0.0.1', 'localhost');
    const result = await httpRequestBlock.run(
      {
        method: 'GET',
        url: fakeUrl(`/redirect?to=${encodeURIComponent(target)}`),
        headers: { 'X-Key': 'sk-unrestricted-2', 'X-Plain': 'kept' },
      },
      context({ allowPrivateNetwork: true, secrets: { used: new Set(['api_key']), allowedHosts: {}, literalHosts: new Set(), masker } }),
    );
    expect(result.failed).toBeUndefined();
    const [request] = await received(path);
    expect(request?.headers['x-plain']).toBe('kept');
    expect(request?.headers['x-key']).toBeUndefined();
  });

  it('honours Retry-After up to a cap, otherwise backs off exponentially with jitter', () => {
    expect(retryDelay(1, '2')).toBe(2000);
    expect(retryDelay(1, '3600')).toBe(30_000);
    expect(retryDelay(1, new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    const first = retryDelay(1, null);
    const third = retryDelay(3, null);
    expect(first).toBeGreaterThanOrEqual(375);
    expect(first).toBeLessThanOrEqual(625);
    expect(third).toBeGreaterThanOrEqual(1500);
    expect(third).toBeLessThanOrEqual(2500);
  });
});
