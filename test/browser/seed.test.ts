/**
 * The web page, end to end in a real Chromium: sign in with the development
 * token, build the seed flow through the editor (pointed at the fake
 * Postmark), set its secret through the secrets form, press Test and watch
 * the run live in the sidebar. The secret must reach the outside API exactly
 * once and never appear anywhere in the page.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../e2e/harness';
import { startFakeApi, type FakeApi } from '../helpers/fake-api';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(import.meta.dirname, '../../test-results/browser');
const SECRET = `pm-${randomBytes(12).toString('hex')}`;
const LIVE_TIMEOUT = 60_000;

describe('web page: the seed flow, from sign-in to a live, masked run', () => {
  let server: DevServer | undefined;
  let fake: FakeApi | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  /** Text frames received on the run's live socket. */
  const liveFrames: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        process.env.CI
          ? `Chromium is required for the browser test but ${CHROMIUM} is missing on this CI machine.`
          : [
              '',
              '*************************************************************',
              `*  The browser test needs Chromium at ${CHROMIUM}.`,
              '*  Install it with:   apt-get install -y chromium',
              '*************************************************************',
            ].join('\n'),
      );
    }
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
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page runs under a strict Content-Security-Policy (web/_headers): a violation is a bug.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
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

  it('creates the seed flow through the editor, with a block that prints the secret', async () => {
    await page.getByTestId('new-flow').click();
    await page.getByTestId('seed-url').fill(`${fake!.url}/email`);
    await page.getByTestId('seed-button').click();

    await page.getByTestId('block-type').selectOption('log');
    await page.getByTestId('block-id').fill('reveal');
    await page.getByTestId('block-message').fill('The key is {{SECRETS.postmark_api_key}}');
    await page.getByTestId('block-add').click();

    const definition = JSON.parse(await page.getByTestId('editor-textarea').inputValue());
    expect(definition.blocks.map((b: { id: string }) => b.id)).toEqual(['note', 'email', 'reveal']);
    expect(definition.blocks[1].params.url).toBe(`${fake!.url}/email`);
    expect(definition.blocks[1].params.headers['X-Postmark-Server-Token']).toBe('{{SECRETS.postmark_api_key}}');

    await page.getByTestId('save-button').click();
    await expect.poll(() => page.getByTestId('flow-title').textContent()).toBe('Email on upload');
    for (const id of ['note', 'email', 'reveal']) {
      await page.locator(`[data-testid="block-box"][data-block-id="${id}"]`).waitFor();
    }
  });

  it('sets the secret through the secrets form and forgets the value', async () => {
    await page.getByTestId('secret-name').fill('postmark_api_key');
    await page.getByTestId('secret-value').fill(SECRET);
    await page.getByTestId('secret-save').click();
    await page.locator('[data-testid="secret-row"][data-name="postmark_api_key"]').waitFor();
    expect(await page.getByTestId('secret-value').inputValue()).toBe('');
    expect(await pageText(page)).not.toContain(SECRET);

    // The seed's email body is addressed to {{VARIABLES.notify_to}}.
    await page.getByTestId('variable-name').fill('notify_to');
    await page.getByTestId('variable-value').fill('team@example.com');
    await page.getByTestId('variable-save').click();
    await page.locator('[data-testid="variable-row"][data-name="notify_to"]').waitFor();
  });

  it('runs the flow with Test and streams the run live into the sidebar', async () => {
    await page.getByTestId('test-input').fill(JSON.stringify({ key: 'images/cat.jpg', size: 1234 }));
    await page.getByTestId('test-button').click();

    // Either the live sidebar opens or the page says why the run did not start.
    await page.locator('[data-testid="sidebar"]:not([hidden]), [data-testid="test-notice"]:not([hidden])').first().waitFor();
    const refused = page.locator('[data-testid="test-notice"]:not([hidden])');
    if (await refused.isVisible()) throw new Error(`Test did not start a run: ${await refused.textContent()}`);
    const sidebar = page.getByTestId('sidebar');
    await sidebar.getByTestId('log-line').filter({ hasText: 'New upload images/cat.jpg (1234 bytes)' }).waitFor({ timeout: LIVE_TIMEOUT });
    await sidebar.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor({ timeout: LIVE_TIMEOUT });
    for (const id of ['note', 'email', 'reveal']) {
      const box = page.locator(`[data-testid="block-box"][data-block-id="${id}"]`);
      await expect.poll(() => box.getAttribute('data-status'), { timeout: LIVE_TIMEOUT }).toBe('succeeded');
      expect(await box.getByTestId('block-status').textContent()).toContain('✓');
    }
    expect(await sidebar.getByTestId('run-status').textContent()).toContain('succeeded');

    // The events came over the run's WebSocket, not only from history.
    const events = liveFrames.map((frame) => JSON.parse(frame) as { type: string; seq: number });
    expect(events.some((e) => e.type === 'log')).toBe(true);
    expect(events.some((e) => e.type === 'run')).toBe(true);

    // Every event shown once (no duplicate seq in the sidebar).
    const seqs = await sidebar.locator('[data-seq]').evaluateAll((els) => els.map((el) => el.getAttribute('data-seq')));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('masks the secret as *** and never shows it anywhere in the page', async () => {
    const sidebar = page.getByTestId('sidebar');
    const reveal = sidebar.getByTestId('log-line').filter({ hasText: 'The key is' });
    await reveal.waitFor();
    expect(await reveal.textContent()).toContain('The key is ***');

    expect(await pageText(page)).not.toContain(SECRET);
    const html = await page.content();
    expect(html).not.toContain(SECRET);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toContain(SECRET);
    expect(liveFrames.join('\n')).not.toContain(SECRET);
  });

  it('sent exactly one email, carrying the secret in X-Postmark-Server-Token', () => {
    const emails = fake!.requests.filter((r) => r.path === '/email');
    expect(emails).toHaveLength(1);
    expect(emails[0]!.method).toBe('POST');
    expect(emails[0]!.headers['x-postmark-server-token']).toBe(SECRET);
    expect(JSON.parse(emails[0]!.body)).toMatchObject({ To: 'team@example.com', Subject: 'New image: images/cat.jpg' });
  });

  it('saves screenshots of the flow page and the live sidebar', async () => {
    await page.evaluate(() => window.scrollTo({ top: 0, behavior: 'instant' }));
    await page.screenshot({ path: path.join(SHOTS, 'flow-page.png'), fullPage: true });
    expect(existsSync(path.join(SHOTS, 'flow-page.png'))).toBe(true);
    const sidebar = page.getByTestId('sidebar');
    expect(await sidebar.isVisible(), 'the live sidebar never opened').toBe(true);
    await sidebar.screenshot({ path: path.join(SHOTS, 'live-sidebar.png') });
    expect(pageErrors.slice(0, 3)).toEqual([]);
  });

  it('is served with its security headers', async () => {
    const res = await fetch(`${server!.url}/`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
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
