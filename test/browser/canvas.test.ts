/**
 * The web page in a real Chromium, against one `wrangler dev` (started the
 * way `npm start` does) and a local HTTP server playing Postmark and other
 * outside APIs. One page is reused throughout, in order:
 *
 * - the seed story with the mouse only: drag "Add to Logs" and "Send HTTP
 *   Request" onto the canvas, connect them, configure them, insert the
 *   secret with "+", save, set the secret, Test, every card turns green, the
 *   fake Postmark gets the secret exactly once and the page never shows it;
 * - a condition with two branches; a cycle refused; a 422 marked on the
 *   right card (and a 409 offering to reload); undo/redo; a two-block flow
 *   made with the keyboard only; the Advanced tab round-trips exactly;
 * - every starter of the gallery saves and a test run succeeds;
 * - no console errors and no CSP violations all along.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api as callApi, startDevServer, type DevServer } from '../e2e/harness';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';
import { CHROMIUM, requireChromium } from './chromium';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results/browser');
const SECRET = `pm-${randomBytes(12).toString('hex')}`;
const LIVE_TIMEOUT = 60_000;

describe('web page: the canvas editor, from an empty canvas to a live, masked run', () => {
  let server: DevServer | undefined;
  let fake: FakeApi | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** Console errors, page errors and CSP violations. */
  const pageErrors: string[] = [];
  /** Text frames received on runs' live sockets. */
  const liveFrames: string[] = [];
  let seedFlowId = '';
  let branchFlowId = '';

  const api = (method: string, route: string, body?: unknown) => callApi(server!, method, route, body);
  const card = (id: string) => page.locator(`[data-testid="block-card"][data-block-id="${id}"]`);
  const panel = () => page.getByTestId('config-panel');

  /** Closes the configure panel (it covers the right of the canvas). */
  async function closePanel() {
    if (await panel().isVisible()) await page.getByTestId('config-close').click();
  }

  /** Selects a block by clicking its card (the configure panel opens). */
  async function open(id: string) {
    await closePanel();
    await card(id).click();
    await panel().waitFor();
  }

  /** Drags a block type from the palette and drops it at a page point. */
  async function dragFromPalette(type: string, x: number, y: number) {
    await closePanel();
    const item = page.locator(`[data-testid="palette-item"][data-type="${type}"]`);
    await item.scrollIntoViewIfNeeded();
    const from = (await item.boundingBox())!;
    await page.mouse.move(from.x + 40, from.y + 14);
    await page.mouse.down();
    await page.mouse.move(from.x + 90, from.y + 30, { steps: 4 });
    await page.mouse.move(x, y, { steps: 12 });
    await page.mouse.up();
  }

  /** Drags from a card's output port (or `offset` px right of its centre) onto another card. */
  async function connect(fromId: string, port: string, toId: string, offset = 0) {
    await closePanel();
    const handle = (await card(fromId).locator(`[data-testid="port"][data-port="${port}"]`).first().boundingBox())!;
    const target = (await card(toId).boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2 + offset, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(target.x + target.width / 2, target.y + 30, { steps: 12 });
    await page.mouse.up();
  }

  /** Opens the "+" picker of the n-th template field in the panel and picks a value. */
  async function pick(nth: number, pathValue: string) {
    await panel().getByTestId('pick-button').nth(nth).click();
    await page.getByTestId('picker').waitFor();
    await page.locator(`[data-testid="pick-item"][data-path="${pathValue}"]`).click();
    await page.getByTestId('picker').waitFor({ state: 'detached' });
  }

  /** Drops a block type on the canvas right of a card (dy: above or below it). */
  async function dropRightOf(type: string, id: string, dy = 0) {
    await closePanel();
    const at = await rightOf(id);
    await dragFromPalette(type, at.x, at.y + dy);
  }

  /** Fits the whole flow into view (after the configure panel moved it aside). */
  async function fitView() {
    await closePanel();
    await page.getByTestId('zoom-fit').click();
  }

  /** The canvas's empty area right of a card. */
  async function rightOf(id: string, dx = 170) {
    const box = (await card(id).boundingBox())!;
    return { x: box.x + box.width + dx, y: box.y + 30 };
  }

  /** The canvas's pan and zoom, as its world layer's transform. */
  function worldTransform() {
    return page.locator('.cv-world').evaluate((el) => (el as HTMLElement).style.transform);
  }

  async function waitSaved() {
    await expect.poll(() => page.getByTestId('dirty-state').textContent()).toBe('All changes saved');
  }

  async function runAndWait(status = 'succeeded') {
    await page.getByTestId('test-button').click();
    await page.locator('[data-testid="sidebar"]:not([hidden]), [data-testid="test-notice"]:not([hidden])').first().waitFor();
    const refused = page.locator('[data-testid="test-notice"]:not([hidden])');
    if (await refused.isVisible()) throw new Error(`Test did not start a run: ${await refused.textContent()}`);
    const sidebar = page.getByTestId('sidebar');
    await sidebar.locator('[data-testid="run-status"][data-status]').first().waitFor();
    await expect
      .poll(() => sidebar.getByTestId('run-status').getAttribute('data-status'), { timeout: LIVE_TIMEOUT })
      .toMatch(/succeeded|failed|cancelled/);
    const final = await sidebar.getByTestId('run-status').getAttribute('data-status');
    if (final !== status) {
      const error = await sidebar.getByTestId('run-error').textContent();
      throw new Error(`the run ended ${final}, not ${status}: ${error}`);
    }
  }

  beforeAll(async () => {
    requireChromium();
    [server, fake] = await Promise.all([startDevServer(), startFakeApi()]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    page.setDefaultTimeout(20_000);
    page.on('dialog', (dialog) => void dialog.accept());
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      // The refusals these tests provoke on purpose (the 422 and the 409) are logged by Chromium as failed loads.
      if (/Failed to load resource: the server responded with a status of (409|422)/.test(text)) return;
      pageErrors.push(`console: ${text}`);
    });
    page.on('websocket', (socket) => {
      if (!/\/v1\/runs\/[^/]+\/live\?/.test(socket.url())) return;
      socket.on('framereceived', ({ payload }) => {
        if (typeof payload === 'string') liveFrames.push(payload);
      });
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), fake?.close()]);
  });

  it('signs in with the development-token button and shows the tenant', async () => {
    await page.goto(`${server!.url}/`);
    await page.getByTestId('dev-token-button').click();
    await page.getByTestId('flows-table').waitFor();
    await expect.poll(() => page.getByTestId('tenant').textContent()).toBe('demo');
  });

  it('builds the seed flow with the mouse only: drag, connect, configure, insert the secret with "+", save', async () => {
    await page.getByTestId('new-flow').click();
    await page.getByTestId('gallery').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'gallery.png') });
    await page.getByTestId('starter-blank').click();
    const canvas = page.getByTestId('canvas');
    await canvas.waitFor();
    const area = (await canvas.boundingBox())!;

    // Drag "Add to Logs" and "Send HTTP Request" onto the canvas, and connect them.
    await dragFromPalette('log', area.x + 330, area.y + 200);
    await card('log').waitFor();
    await dropRightOf('http_request', 'log');
    await card('http').waitFor();
    expect(await card('log').getAttribute('aria-describedby')).toBeTruthy();
    await connect('log', 'next', 'http');
    await expect.poll(() => page.locator('.cv-edge[data-from="log"][data-port="next"]').getAttribute('data-to')).toBe('http');

    // The trigger: an upload under images/, a JPEG; and the flow's name.
    await fitView();
    await page.getByTestId('trigger-node').click();
    await panel().getByTestId('cfg-flow-name').fill('Email on upload');
    await panel().getByTestId('trigger-type').selectOption('r2_upload');
    await panel().getByTestId('trigger-prefix').fill('images/');
    await panel().getByTestId('trigger-suffix').fill('.jpg');

    // Add to Logs: a message with the upload's key inserted with "+".
    await open('log');
    await panel().getByTestId('field-message').fill('New upload ');
    await pick(0, 'trigger.key');
    expect(await panel().getByTestId('field-message').inputValue()).toBe('New upload {{trigger.key}}');

    // Send HTTP Request: method, URL, headers and a body of fields.
    await open('http');
    await panel().getByTestId('field-method').selectOption('POST');
    await panel().getByTestId('field-url').fill(`${fake!.url}/email`);
    await panel().locator('[data-field="params.headers"]').getByTestId('kv-add').click();
    await panel().getByTestId('kv-key').nth(0).fill('X-Postmark-Server-Token');
    // "+" beside the header's value: name the secret (this flow is not saved yet, so no value is asked).
    await panel().getByTestId('pick-button').nth(1).click();
    await page.getByTestId('picker').waitFor();
    await page.getByTestId('new-secret-name').fill('postmark_api_key');
    await page.getByTestId('new-secret').getByRole('button').click();
    expect(await panel().getByTestId('kv-value').nth(0).inputValue()).toBe('{{SECRETS.postmark_api_key}}');
    await panel().locator('[data-field="params.headers"]').getByTestId('kv-add').click();
    await panel().getByTestId('kv-key').nth(1).fill('Accept');
    await panel().getByTestId('kv-value').nth(1).fill('application/json');
    await panel().getByTestId('mode-body').selectOption('fields');
    const body = panel().locator('[data-field="params.body"]');
    for (const [i, [key, value]] of [
      ['From', 'media@example.com'],
      ['To', 'team@example.com'],
      ['Subject', 'New image: '],
    ].entries()) {
      await body.getByTestId('kv-add').click();
      await body.getByTestId('kv-key').nth(i).fill(key!);
      await body.getByTestId('kv-value').nth(i).fill(value!);
    }
    await body.getByTestId('pick-button').nth(2).click();
    await page.locator('[data-testid="pick-item"][data-path="trigger.key"]').click();

    // A third block that logs the secret (it must come out masked), connected after the request.
    await dropRightOf('log', 'http');
    await card('log2').waitFor();
    await connect('http', 'next', 'log2');
    await open('log2');
    await panel().getByTestId('field-message').fill('The key is ');
    await panel().getByTestId('pick-button').nth(0).click();
    await page.getByTestId('picker').waitFor();
    await page.getByTestId('pick-search').fill('secret');
    await page.screenshot({ path: path.join(SHOTS, 'configure-picker.png') });
    await page.locator('[data-testid="pick-item"][data-path="SECRETS.postmark_api_key"]').click();
    expect(await panel().getByTestId('field-message').inputValue()).toBe('The key is {{SECRETS.postmark_api_key}}');

    await page.getByTestId('save-button').click();
    await page.waitForURL(/\/flows\/flw_/);
    await expect.poll(() => page.getByTestId('flow-title').textContent()).toBe('Email on upload');
    seedFlowId = /\/flows\/(flw_[^/?]+)/.exec(page.url())![1]!;
    for (const id of ['log', 'http', 'log2']) await card(id).waitFor();

    const flow = (await api('GET', `/v1/flows/${seedFlowId}`)).body;
    expect(flow.trigger).toEqual({ type: 'r2_upload', prefix: 'images/', suffix: '.jpg' });
    expect(flow.blocks.map((b: { id: string; type: string }) => `${b.id}:${b.type}`)).toEqual(['log:log', 'http:http_request', 'log2:log']);
    // Drawn in order, so the JSON needs no `next`: exactly what one would write by hand.
    expect(flow.blocks.some((b: { next?: unknown }) => 'next' in b)).toBe(false);
    expect(flow.blocks[1].params).toEqual({
      method: 'POST',
      url: `${fake!.url}/email`,
      headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}', Accept: 'application/json' },
      body: { From: 'media@example.com', To: 'team@example.com', Subject: 'New image: {{trigger.key}}' },
    });
    expect(typeof flow.blocks[0].ui.x).toBe('number');
    await page.getByTestId('canvas').screenshot({ path: path.join(SHOTS, 'canvas.png') });
  });

  it('sets the secret through the secrets panel, which forgets the value', async () => {
    await page.getByTestId('secrets-missing').waitFor();
    await page.getByTestId('secret-name').fill('postmark_api_key');
    await page.getByTestId('secret-value').fill(SECRET);
    await page.getByTestId('secret-save').click();
    await page.locator('[data-testid="secret-row"][data-name="postmark_api_key"]').waitFor();
    expect(await page.getByTestId('secret-value').inputValue()).toBe('');
    expect(await pageText(page)).not.toContain(SECRET);
  });

  it('runs the flow with Test: every card turns green from the live socket, and a card shows its step', async () => {
    await page.getByTestId('test-input').fill(JSON.stringify({ key: 'images/cat.jpg', size: 1234 }));
    await runAndWait();
    const sidebar = page.getByTestId('sidebar');
    await sidebar.getByTestId('log-line').filter({ hasText: 'New upload images/cat.jpg' }).waitFor({ timeout: LIVE_TIMEOUT });
    for (const id of ['log', 'http', 'log2']) {
      await expect.poll(() => card(id).getAttribute('data-status'), { timeout: LIVE_TIMEOUT }).toBe('succeeded');
      expect(await card(id).getByTestId('block-status').textContent()).toContain('✓');
    }
    // The events came over the run's WebSocket, each shown once.
    const events = liveFrames.map((frame) => JSON.parse(frame) as { type: string; seq: number });
    expect(events.some((e) => e.type === 'step')).toBe(true);
    expect(events.some((e) => e.type === 'run')).toBe(true);
    const seqs = await sidebar.locator('[data-seq]').evaluateAll((els) => els.map((el) => el.getAttribute('data-seq')));
    expect(new Set(seqs).size).toBe(seqs.length);

    await page.setViewportSize({ width: 1920, height: 1000 });
    await fitView();
    await page.screenshot({ path: path.join(SHOTS, 'live-run.png') });
    await page.setViewportSize({ width: 1440, height: 960 });

    // Clicking a card shows its step's (masked) output.
    await open('http');
    const output = panel().getByTestId('step-output-json');
    await output.waitFor();
    expect(await output.textContent()).toContain('"status": 200');
    await page.screenshot({ path: path.join(SHOTS, 'step-output.png') });
  });

  it('masks the secret as *** and never shows it anywhere in the page', async () => {
    const reveal = page.getByTestId('sidebar').getByTestId('log-line').filter({ hasText: 'The key is' });
    await reveal.waitFor();
    expect(await reveal.textContent()).toContain('The key is ***');
    await open('log2');
    await panel().getByTestId('step-output-json').waitFor();
    expect(await panel().getByTestId('step-output-json').textContent()).toContain('The key is ***');

    expect(await pageText(page)).not.toContain(SECRET);
    expect(await page.content()).not.toContain(SECRET);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(SECRET);
    expect(liveFrames.join('\n')).not.toContain(SECRET);
  });

  it('sent exactly one email, carrying the secret in X-Postmark-Server-Token', () => {
    const emails = fake!.requests.filter((r) => r.path === '/email');
    expect(emails).toHaveLength(1);
    expect(emails[0]!.headers['x-postmark-server-token']).toBe(SECRET);
    expect(JSON.parse(emails[0]!.body)).toMatchObject({ To: 'team@example.com', Subject: 'New image: images/cat.jpg' });
  });

  it('draws a condition with two branches, saves it, and runs the branch taken', async () => {
    await page.goto(`${server!.url}/flows/new?template=blank`);
    const canvas = page.getByTestId('canvas');
    await canvas.waitFor();
    const area = (await canvas.boundingBox())!;
    await dragFromPalette('condition', area.x + 330, area.y + 220);
    await card('check').waitFor();
    await dropRightOf('log', 'check', -90);
    await card('log').waitFor();
    await dropRightOf('log', 'check', 90);
    await card('log2').waitFor();
    await fitView();
    await connect('check', 'then', 'log');
    await connect('check', 'else', 'log2');

    await open('check');
    await panel().getByTestId('field-left').fill('{{trigger.n}}');
    await panel().getByTestId('field-op').selectOption('gt');
    await panel().getByTestId('field-right').fill('5');
    await open('log');
    await panel().getByTestId('field-message').fill('big');
    await open('log2');
    await panel().getByTestId('field-message').fill('small');
    await page.getByTestId('save-button').click();
    await page.waitForURL(/\/flows\/flw_/);
    branchFlowId = /\/flows\/(flw_[^/?]+)/.exec(page.url())![1]!;

    const flow = (await api('GET', `/v1/flows/${branchFlowId}`)).body;
    const check = flow.blocks.find((b: { id: string }) => b.id === 'check');
    expect(check.params).toEqual({ left: '{{trigger.n}}', op: 'gt', right: '5' });
    expect(flow.blocks[0].id).toBe('check');
    // An absent `then` means the following block (the page writes no more than the contract needs).
    const following = flow.blocks[flow.blocks.indexOf(check) + 1]?.id;
    expect(check.then === undefined ? following : check.then).toBe('log');
    expect(check.else === undefined ? following : check.else).toBe('log2');
    // The then-branch must not fall through into the else-branch.
    expect(flow.blocks.find((b: { id: string }) => b.id === 'log').next).toBeNull();

    await page.getByTestId('test-input').fill('{ "n": 7 }');
    await runAndWait();
    await expect.poll(() => card('log').getAttribute('data-status')).toBe('succeeded');
    await expect.poll(() => card('log2').getAttribute('data-status')).toBe('skipped');
    await page.getByTestId('sidebar-close').click();
  });

  it('refuses a connection that would make a cycle', async () => {
    await card('log').waitFor();
    const view = await worldTransform();
    await connect('log', 'next', 'check');
    const toast = page.getByTestId('canvas-toast');
    await expect.poll(() => toast.textContent()).toMatch(/loop/);
    expect(await toast.getAttribute('role')).toBe('alert');
    expect(await page.locator('.cv-edge[data-from="log"][data-port="next"]').count()).toBe(0);
    // The press was taken by the port: a drag that pans the canvas instead is the failure this guards against.
    expect(await worldTransform()).toBe(view);
    await waitSaved();
  });

  it('grabs a port pressed just beside its ring, dragged leftwards onto a card', async () => {
    await page.getByTestId('canvas-toast').evaluate((el) => (el.textContent = ''));
    const view = await worldTransform();
    // 9 px right of the centre of a 14-px port: outside its circle, over the bare canvas.
    await connect('log2', 'next', 'check', 9);
    await expect.poll(() => page.getByTestId('canvas-toast').textContent()).toMatch(/loop \(check → log2 → check\)/);
    expect(await page.locator('.cv-edge[data-from="log2"][data-port="next"]').count()).toBe(0);
    expect(await worldTransform()).toBe(view);
    await waitSaved();
  });

  it('marks a 422 on the card and field it names, and offers to reload after a 409', async () => {
    await open('check');
    // A secret in a condition would reveal it bit by bit: the server refuses it (the page does not check this).
    await panel().getByTestId('field-left').fill('{{SECRETS.postmark_api_key}}');
    await page.getByTestId('save-button').click();
    const error = page.locator('[data-testid="save-error"][data-block-id="check"]');
    await error.waitFor();
    expect(await error.getAttribute('data-path')).toBe('blocks[0].params.left');
    expect(await card('check').getAttribute('data-invalid')).toBe('true');
    expect(await card('log').getAttribute('data-invalid')).toBe('false');
    expect(await card('log2').getAttribute('data-invalid')).toBe('false');
    expect(await card('check').getByTestId('card-issue').getAttribute('title')).toMatch(/secret/i);
    const fieldError = panel().locator('[data-error-for="params.left"]');
    expect(await fieldError.isVisible()).toBe(true);
    expect(await fieldError.textContent()).toMatch(/secret/i);

    // Fixing the field clears its mark; meanwhile someone else saves the flow: 409, and the page offers to reload.
    await panel().getByTestId('field-left').fill('{{trigger.n}}');
    await expect.poll(() => card('check').getAttribute('data-invalid')).toBe('false');
    const current = (await api('GET', `/v1/flows/${branchFlowId}`)).body;
    const changed = await api('PUT', `/v1/flows/${branchFlowId}`, {
      name: 'Branching (renamed elsewhere)',
      enabled: current.enabled,
      trigger: current.trigger,
      blocks: current.blocks,
    });
    expect(changed.status).toBe(200);
    await page.getByTestId('save-button').click();
    await page.getByTestId('reload-flow').click();
    await expect.poll(() => page.getByTestId('flow-title').textContent()).toBe('Branching (renamed elsewhere)');
    await waitSaved();
  });

  it('undoes and redoes adding, moving and deleting blocks (Ctrl+Z, Ctrl+Shift+Z)', async () => {
    const cards = page.getByTestId('block-card');
    expect(await cards.count()).toBe(3);
    await page.locator('[data-testid="palette-item"][data-type="delay"]').click();
    await card('wait').waitFor();
    expect(await cards.count()).toBe(4);
    await page.keyboard.press('Control+z');
    await expect.poll(() => cards.count()).toBe(3);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => cards.count()).toBe(4);

    const before = (await api('GET', `/v1/flows/${branchFlowId}`)).body.blocks.find((b: { id: string }) => b.id === 'log').ui;
    await card('log').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Delete');
    await expect.poll(() => card('log').count()).toBe(0);
    await page.getByTestId('undo').click();
    await card('log').waitFor();
    await page.keyboard.press('Control+z');
    await page.getByTestId('tab-json').click();
    const json = JSON.parse(await page.getByTestId('editor-textarea').inputValue());
    expect(json.blocks.find((b: { id: string }) => b.id === 'log').ui).toEqual(before);
    await page.getByTestId('tab-canvas').click();
    // Undo all the way back to the saved flow; redo replays it.
    await page.getByTestId('undo').click();
    await waitSaved();
    await page.getByTestId('redo').click();
    expect(await cards.count()).toBe(4);
    await page.getByTestId('undo').click();
    await waitSaved();
  });

  it('creates a two-block flow with the keyboard only', async () => {
    await page.goto(`${server!.url}/flows/new?template=blank`);
    await page.getByTestId('canvas').waitFor();
    const key = (k: string) => page.keyboard.press(k);
    await key('/');
    await page.keyboard.type('add to logs');
    await key('Enter');
    await card('log').waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-block-id'))).toBe('log');
    // Focus is visible on the card.
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none');
    await key('Enter');
    await page.keyboard.type('first');
    await key('Escape');
    await key('/');
    await page.keyboard.type('add to logs');
    await key('Enter');
    await card('log2').waitFor();
    await key('Enter');
    await page.keyboard.type('second');
    await key('Escape');
    // Back to the first card, and connect it through the panel.
    await key('Shift+Tab');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-block-id'))).toBe('log');
    await key('Enter');
    for (let i = 0; i < 12; i++) {
      if (await page.evaluate(() => document.activeElement?.getAttribute('data-port-select') === 'next')) break;
      await key('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-port-select'))).toBe('next');
    await key('ArrowDown');
    await expect.poll(() => page.locator('.cv-edge[data-from="log"][data-port="next"]').getAttribute('data-to')).toBe('log2');
    await key('Control+s');
    await page.waitForURL(/\/flows\/flw_/);
    const id = /\/flows\/(flw_[^/?]+)/.exec(page.url())![1]!;
    const flow = (await api('GET', `/v1/flows/${id}`)).body;
    expect(flow.blocks.map((b: { id: string; params: { message: string } }) => `${b.id}:${b.params.message}`)).toEqual([
      'log:first',
      'log2:second',
    ]);
    expect('next' in flow.blocks[0]).toBe(false);
  });

  it('keeps the Advanced (JSON) tab round-tripping exactly, positions and all', async () => {
    const definition = {
      name: 'Round trip',
      enabled: false,
      trigger: { type: 'webhook' },
      blocks: [
        {
          id: 'route',
          type: 'switch',
          params: { value: '{{trigger.body.kind}}', cases: [{ equals: 'batch', next: 'each' }] },
          default: 'single',
        },
        {
          id: 'each',
          type: 'for_each',
          params: {
            items: '{{trigger.body.keys}}',
            concurrency: 2,
            blocks: [
              { id: 'tag', type: 'r2_object', onError: 'note', params: { action: 'head', key: '{{item}}' } },
              {
                id: 'note',
                type: 'log',
                params: { level: 'warn', message: 'item {{index}}: {{error.message}}' },
                ui: { x: 300, y: 0, color: 'amber' },
              },
            ],
          },
          next: null,
        },
        { id: 'single', type: 'log', name: 'One asset', params: { message: 'one asset: {{trigger.body.key}}' } },
      ],
      description: 'Made through the API, without positions',
      notify: { url: `${fake!.url}/echo`, on: ['failed'] },
    };
    const created = await api('POST', '/v1/flows', definition);
    expect(created.status).toBe(201);
    await page.goto(`${server!.url}/flows/${created.body.id}`);
    await page.getByTestId('loop-body').waitFor();
    for (const id of ['route', 'each', 'tag', 'note', 'single']) await card(id).waitFor();
    await page.getByTestId('tab-json').click();
    const textarea = page.getByTestId('editor-textarea');
    // Laid out automatically, yet nothing was written into the flow: the text is the flow as stored.
    const stored = (await api('GET', `/v1/flows/${created.body.id}`)).body;
    const asStored = {
      name: stored.name,
      enabled: stored.enabled,
      trigger: stored.trigger,
      blocks: stored.blocks,
      description: stored.description,
      notify: stored.notify,
    };
    expect(asStored).toEqual(definition);
    expect(await textarea.inputValue()).toBe(JSON.stringify(asStored, null, 2));

    // Edited by hand (in its own formatting): the canvas shows it, and the text comes back exactly as written.
    const edited = JSON.stringify({
      ...definition,
      blocks: [...definition.blocks, { id: 'extra', type: 'log', params: { message: 'added in JSON' }, ui: { x: 900, y: 300 } }],
    });
    await textarea.fill(edited);
    await page.getByTestId('tab-canvas').click();
    await card('extra').waitFor();
    expect(await card('extra').textContent()).toContain('added in JSON');
    await page.getByTestId('tab-json').click();
    expect(await textarea.inputValue()).toBe(edited);
    await page.getByTestId('tab-canvas').click();
    await page.getByTestId('save-button').click();
    await waitSaved();
    const saved = (await api('GET', `/v1/flows/${created.body.id}`)).body;
    const { name, enabled, trigger, blocks, description, notify } = saved;
    expect({ name, enabled, trigger, blocks, description, notify }).toEqual(JSON.parse(edited));
  });

  it('offers at least five starters, and each saves and runs', async () => {
    // The thumbnail starter reads a real image from storage.
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const upload = await fetch(`${server!.url}/v1/uploads/photos/sample.png`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server!.token}`, 'content-type': 'image/png' },
      body: new Uint8Array(png),
    });
    expect(upload.status).toBe(201);

    await page.goto(`${server!.url}/flows/new`);
    await page.getByTestId('gallery').waitFor();
    const keys = await page.getByTestId('starter').evaluateAll((els) => els.map((el) => el.getAttribute('data-starter')));
    const starters = keys.filter((k) => k !== 'blank');
    expect(starters.length).toBeGreaterThanOrEqual(5);

    /** What each starter needs to run here: its outside URLs pointed at the fake, its secrets and variables set. */
    const setup: Record<string, { urls?: Record<string, string>; secrets?: Record<string, string>; variables?: Record<string, string> }> = {
      'email-on-upload': {
        urls: { email: `${fake!.url}/email` },
        secrets: { postmark_api_key: 'pm-starter-key-0001' },
        variables: { notify_to: 'team@example.com' },
      },
      'webhook-branch-notify': { urls: { notify: `${fake!.url}/echo` } },
      'error-alert': { urls: { call: `${fake!.url}/status/500`, alert: `${fake!.url}/echo` } },
    };
    for (const key of starters) {
      await page.goto(`${server!.url}/flows/new`);
      await page.getByTestId(`starter-${key}`).click();
      await page.getByTestId('canvas').waitFor();
      for (const [blockId, url] of Object.entries(setup[key!]?.urls ?? {})) {
        await open(blockId);
        await panel().getByTestId('field-url').fill(url);
      }
      await page.getByTestId('save-button').click();
      await page.waitForURL(/\/flows\/flw_/);
      const flowId = /\/flows\/(flw_[^/?]+)/.exec(page.url())![1]!;
      for (const [name, value] of Object.entries(setup[key!]?.secrets ?? {})) {
        expect((await api('PUT', `/v1/flows/${flowId}/secrets/${name}`, { value })).status).toBe(201);
      }
      for (const [name, value] of Object.entries(setup[key!]?.variables ?? {})) {
        expect((await api('PUT', `/v1/flows/${flowId}/variables/${name}`, { value })).status).toBe(201);
      }
      try {
        await runAndWait();
      } catch (error) {
        throw new Error(`starter ${key}: ${error instanceof Error ? error.message : error}`);
      }
      if (key === 'error-alert') {
        // The failure took the error path: the request failed, the alert went out, the run succeeded.
        await expect.poll(() => card('call').getAttribute('data-status')).toBe('failed');
        await expect.poll(() => card('alert').getAttribute('data-status')).toBe('succeeded');
      }
      if (key === 'nightly-cleanup') {
        // Steps of the loop body are grouped per item in the sidebar.
        expect(await page.getByTestId('sidebar').getByTestId('iteration').count()).toBe(2);
        await expect.poll(() => card('removed').getByTestId('block-status').textContent()).toContain('2/2');
        await page.setViewportSize({ width: 1920, height: 1000 });
        await fitView();
        await page.screenshot({ path: path.join(SHOTS, 'loop-run.png') });
        await page.setViewportSize({ width: 1440, height: 960 });
      }
      await page.getByTestId('sidebar-close').click();
    }
  });

  it('logged no console errors and no Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });

  it('is served with its security headers', async () => {
    const res = await fetch(`${server!.url}/`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

/** All text in the document, form values included. */
function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = Array.from(document.querySelectorAll('input, textarea'), (el) => (el as HTMLInputElement).value);
    return `${document.documentElement.textContent ?? ''}\n${values.join('\n')}`;
  });
}
