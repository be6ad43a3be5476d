import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signGitHub } from '@webhooks/verifiers';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_CSP } from '../../api/src/admin.js';
import { loadConfig } from '../../api/src/config.js';
import { createLogger } from '../../api/src/logger.js';
import { createRuntime, type Runtime } from '../../api/src/runtime.js';

/**
 * The admin panel in a real browser (Debian's chromium, driven by playwright-core) against the
 * real receiver on a temporary SQLite data dir: sign in, create, receive, replay, rotate, delete,
 * the overview, hostile payloads, and a second tenant that must see none of it.
 */

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_DIR = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = join(ADMIN_DIR, 'test-artifacts');
const KEY_A = 'tenant-a-admin-key-0123456789abcdef';
const KEY_B = 'tenant-b-admin-key-0123456789abcdef';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const XSS_TITLE = '<script>window.__xss=1</script>';
const XSS_BODY = '"><img src=x onerror="window.__xss=2">';
const XSS_ACTION = '<img src=x onerror=window.__xss=3>';
const XSS_HEADER = '<script>window.__xss=4</script>';

let dataDir: string;
let runtime: Runtime;
let server: Server;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const browserProblems: string[] = [];
const requestedUrls: string[] = [];

/** Shared between the steps below, which run in order. */
const state = { registrationId: '', secret: '', rotatedSecret: '', goodBody: '', goodDeliveryId: '' };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The admin panel's browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (CI's .ci/run does this).`,
    );
  }
  if (!existsSync(join(ADMIN_DIR, 'dist', 'index.html'))) {
    // A fresh clone has no build yet: build the panel once, as `pnpm build` would.
    const { build } = await import('vite');
    await build({ root: ADMIN_DIR, configFile: join(ADMIN_DIR, 'vite.config.ts'), logLevel: 'warn' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });

  dataDir = mkdtempSync(join(tmpdir(), 'webhooks-admin-e2e-'));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WEBHOOKS_DATA_DIR: dataDir,
    PUBLIC_BASE_URL: url,
    WEBHOOKS_API_KEYS: `tenant-a:${KEY_A},tenant-b:${KEY_B}`,
  });
  runtime = await createRuntime(config, createLogger('silent'));
  server.on('request', runtime.listener);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of (401|404)/.test(message.text())) {
      browserProblems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => browserProblems.push(`page error: ${error.message}`));
  page.on('request', (request) => requestedUrls.push(request.url()));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await runtime?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function shoot(name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

async function unlabelledControls(): Promise<string[]> {
  return page.$$eval('input, select, textarea', (elements) =>
    elements
      .filter((element) => {
        const control = element as HTMLInputElement;
        return (control.labels?.length ?? 0) === 0 && !control.getAttribute('aria-label');
      })
      .map((element) => element.outerHTML),
  );
}

async function xss(): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss);
}

async function sendGitHub(
  registrationId: string,
  secret: string,
  body: string,
  extra: Record<string, string> = {},
  deliveryId: string = randomUUID(),
): Promise<{ status: number; answer: Record<string, unknown> }> {
  const response = await fetch(`${url}/webhooks/${registrationId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signGitHub({ body, secret, deliveryId, event: 'issues' }),
      ...extra,
    },
    body,
  });
  return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
}

async function stats(key: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/stats?hours=24`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function signIn(key: string): Promise<void> {
  await page.goto(`${url}/admin`);
  await page.getByRole('heading', { name: 'Webhooks admin' }).waitFor();
  // Keyboard only: Tab reaches the key field first, Enter submits.
  for (let i = 0; i < 5; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === 'api-key') break;
    await page.keyboard.press('Tab');
  }
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Registrations', level: 1 }).waitFor();
}

describe('the admin panel in Chromium', { timeout: 60_000 }, () => {
  it('is served at /admin with a strict Content-Security-Policy', async () => {
    const redirect = await fetch(`${url}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    const response = await fetch(`${url}/admin/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(ADMIN_CSP);
    expect(ADMIN_CSP).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    // Every script is a file: the CSP would block an inline one.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${url}/admin/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('content-security-policy')).toBe(ADMIN_CSP);
    expect((await fetch(`${url}/admin/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('signs in with the keyboard, refusing an unknown key, and keeps the key out of URLs', async () => {
    await page.goto(`${url}/admin`);
    await page.getByLabel('API key').fill('not-a-key-of-anyone-at-all');
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'does not know this key' }).waitFor();
    await shoot('01-sign-in');
    expect(await unlabelledControls()).toEqual([]);

    await signIn(KEY_A);
    expect(await page.evaluate(() => sessionStorage.getItem('webhooks-admin.api-key'))).toBe(KEY_A);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(KEY_A);
    expect(requestedUrls.filter((u) => u.includes(KEY_A))).toEqual([]);
    await page.getByText('No registrations yet').waitFor();
  });

  it('creates a GitHub registration and shows its secret once, with a copy button and setup steps', async () => {
    await page.getByRole('link', { name: 'New registration' }).click();
    await page.getByRole('heading', { name: 'New registration' }).waitFor();
    expect(await unlabelledControls()).toEqual([]);
    await page.getByLabel('Integration').selectOption('github');
    await page.getByLabel('Connection id').fill('gh-conn-1');
    await page.getByLabel('Events').fill('issue.*');
    await page.getByRole('button', { name: 'Create registration' }).click();

    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    state.secret = (await page.getByTestId('secret-value').textContent()) ?? '';
    expect(state.secret).toMatch(/^whsec_/);
    state.registrationId = (await page.locator('dl.facts dd').first().textContent()) ?? '';
    expect(state.registrationId).toMatch(/^[A-Za-z0-9_-]+$/);
    await page.getByText('Repository (or organisation) Settings > Webhooks').waitFor();
    await page.getByText(`Webhook URL: ${url}/webhooks/${state.registrationId}`).waitFor();
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Copied|selected/ })
      .waitFor();
    await shoot('02-create-secret');

    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await page.evaluate(() => navigator.clipboard.writeText('cleared'));
    expect(await page.content()).not.toContain(state.secret);
    await page.getByText('No event has arrived since this registration was created').waitFor();
    await shoot('03-registration-new');
  });

  it('lists deliveries with their outcome, and provider-supplied text stays inert text', async () => {
    state.goodBody = JSON.stringify({ action: 'opened', issue: { id: 101, title: 'A normal issue' } });
    state.goodDeliveryId = randomUUID();
    const good = await sendGitHub(state.registrationId, state.secret, state.goodBody, {}, state.goodDeliveryId);
    expect(good).toMatchObject({ status: 200, answer: { success: true, syncTriggered: true } });
    const duplicate = await sendGitHub(state.registrationId, state.secret, state.goodBody, {}, state.goodDeliveryId);
    expect(duplicate.answer).toMatchObject({ duplicate: true });
    const hostileBody = JSON.stringify({ action: XSS_ACTION, issue: { id: 666, title: XSS_TITLE, body: XSS_BODY } });
    const hostile = await sendGitHub(state.registrationId, state.secret, hostileBody, { 'x-note': XSS_HEADER });
    expect(hostile.status).toBe(200);
    const forged = await sendGitHub(state.registrationId, 'whsec_not-the-secret', state.goodBody);
    expect(forged.status).toBe(401);

    await page.getByRole('button', { name: 'Refresh' }).click();
    const rows = page.locator('tr.delivery');
    await expect.poll(() => rows.count()).toBe(4);
    const text = (await page.locator('section.deliveries').textContent()) ?? '';
    expect(text).toContain('Accepted');
    expect(text).toContain('Duplicate');
    expect(text).toContain('Rejected');
    expect(text).toContain('signature_mismatch');
    expect(text).toContain(`issue.${XSS_ACTION}`);

    const hostileRow = rows.filter({ hasText: XSS_ACTION });
    await hostileRow.getByRole('button', { name: 'Details' }).click();
    const body = page.getByTestId('delivery-body');
    await body.waitFor();
    expect(await body.textContent()).toContain(XSS_TITLE);
    expect(await body.textContent()).toContain('onerror=\\"window.__xss=2\\"');
    await page.getByText(XSS_HEADER).waitFor();
    await page.getByText('x-hub-signature-256').waitFor();
    // Give an injected handler every chance to run, then check nothing did.
    await page.waitForTimeout(300);
    expect(await xss()).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    await shoot('04-deliveries');
    await hostileRow.getByRole('button', { name: 'Hide' }).click();
  });

  it('replays a delivery after a confirmation, and Escape cancels', async () => {
    const goodRow = page.locator('tr.delivery').filter({ hasText: 'Accepted' }).filter({ hasText: 'issue.opened' });
    await goodRow.getByRole('button', { name: 'Replay' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay this delivery?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('tr.delivery').count()).toBe(4);

    await goodRow.getByRole('button', { name: 'Replay' }).click();
    await dialog.waitFor();
    await shoot('05-replay-confirm');
    await dialog.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed: opened 101, sync triggered' }).waitFor();
    await expect.poll(() => page.locator('tr.delivery').count()).toBe(5);
    expect(await page.locator('tr.delivery .replay-tag').count()).toBe(1);
  });

  it('rotates after a confirmation: the new secret once, and when the old one stops working', async () => {
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await dialog.waitFor();
    expect(await unlabelledControls()).toEqual([]);
    await dialog.getByLabel('Provider-issued secret (optional)').waitFor();
    await shoot('06-rotate-confirm');
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();

    await page.getByRole('heading', { name: 'New signing secret' }).waitFor();
    state.rotatedSecret = (await page.getByTestId('secret-value').textContent()) ?? '';
    expect(state.rotatedSecret).toMatch(/^whsec_/);
    expect(state.rotatedSecret).not.toBe(state.secret);
    await page.getByText('The previous secret keeps verifying until').waitFor();
    await page.getByRole('button', { name: 'Copy secret' }).waitFor();
    await shoot('07-rotate-secret');

    const withNew = await sendGitHub(
      state.registrationId,
      state.rotatedSecret,
      JSON.stringify({ action: 'edited', issue: { id: 102 } }),
    );
    expect(withNew.status).toBe(200);
    const withOld = await sendGitHub(
      state.registrationId,
      state.secret,
      JSON.stringify({ action: 'closed', issue: { id: 103 } }),
    );
    expect(withOld.status).toBe(200);

    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    await page.getByRole('heading', { name: 'New signing secret' }).waitFor({ state: 'detached' });
    await page.evaluate(() => navigator.clipboard.writeText('cleared'));
    const html = await page.content();
    expect(html).not.toContain(state.rotatedSecret);
    expect(html).not.toContain(state.secret);
    await page.getByText('Previous secret valid until').waitFor();
  });

  it('deletes a registration after a confirmation', async () => {
    await page.getByRole('link', { name: 'Registrations', exact: true }).first().click();
    await page.getByRole('link', { name: 'New registration' }).click();
    await page.getByLabel('Integration').selectOption('slack');
    // Slack issues its own secret: the form says where to find it and takes it.
    await page.getByText("Slack issues the signing secret: paste your Slack app's").waitFor();
    await page.getByLabel('Connection id').fill('slack-conn-9');
    await page.getByLabel('Events').fill('message.*');
    await page.getByLabel('Provider-issued secret (optional)').fill('slack-signing-secret-0123456789');
    await page.getByRole('button', { name: 'Create registration' }).click();
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(await page.content()).not.toContain('slack-signing-secret-0123456789');
    const slackId = decodeURIComponent(page.url().split('/').pop() ?? '');

    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this registration?' });
    await dialog.waitFor();
    await shoot('08-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete registration' }).click();
    await page.getByRole('heading', { name: 'Registrations', level: 1 }).waitFor();
    await page.getByText('1 registration.').waitFor();
    expect(await page.content()).not.toContain(slackId);
    const gone = await fetch(`${url}/webhooks/${slackId}`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(gone.status).toBe(404);
  });

  it('lists registrations with a health badge and filters', async () => {
    const row = page.locator('tbody tr').filter({ hasText: state.registrationId });
    await row.waitFor();
    expect(await row.textContent()).toContain('Active');
    expect(await row.textContent()).toContain('Healthy');
    expect(await unlabelledControls()).toEqual([]);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No registration matches these filters.').waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Integration').selectOption('github');
    await page.getByLabel('Connection').fill('gh-conn-1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('1 registration matches the filters.').waitFor();
    await shoot('09-registrations');
  });

  it('shows the overview charts over the last 24 hours', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('Events per minute').waitFor();
    await page.getByText('Rejections by reason').waitFor();
    await page.getByText('Syncs triggered', { exact: true }).waitFor();
    await page.getByText('Outbox lag').waitFor();
    const totals = (await page.getByRole('list', { name: 'Totals' }).textContent()) ?? '';
    // good, duplicate, hostile, forged, replay, new secret, old secret (the slack one got nothing)
    expect(totals).toContain('7 received');
    expect(totals).toContain('5 accepted');
    expect(totals).toContain('1 rejected');
    expect(totals).toContain('1 duplicates');
    expect(await page.locator('.bar-list li').filter({ hasText: 'signature_mismatch' }).count()).toBe(1);
    expect(await page.locator('path.bars').count()).toBeGreaterThanOrEqual(3);
    await shoot('10-overview');

    const a = await stats(KEY_A);
    expect(a).toMatchObject({
      registrations: 1,
      totals: { received: 7, accepted: 5, rejected: 1, duplicates: 1 },
      rejectionsByReason: { signature_mismatch: 1 },
    });
    expect((a.outbox as { pending: number }).pending).toBeGreaterThan(0);
  });

  it("shows tenant B nothing of tenant A's", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Webhooks admin' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(KEY_B);
    await page.getByText('No registrations yet').waitFor();
    expect(await page.content()).not.toContain(state.registrationId);
    expect(await page.content()).not.toContain('gh-conn-1');
    await shoot('11-tenant-b-registrations');

    await page.goto(`${url}/admin/#/registrations/${state.registrationId}`);
    await page.getByRole('heading', { name: 'Registration not found' }).waitFor();

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByText('Events per minute').waitFor();
    const totals = (await page.getByRole('list', { name: 'Totals' }).textContent()) ?? '';
    expect(totals).toContain('0 received');
    expect(await page.content()).not.toContain('signature_mismatch');
    const b = await stats(KEY_B);
    expect(b).toMatchObject({
      registrations: 0,
      totals: { received: 0, accepted: 0, rejected: 0, duplicates: 0, syncsTriggered: 0 },
      rejectionsByReason: {},
      minutes: [],
      outbox: { pending: 0, dead: 0, oldestPendingAgeMs: 0 },
    });
    await shoot('12-tenant-b-overview');
  });

  it('ran without a CSP violation, a script error, or an injected script', async () => {
    expect(await xss()).toBeUndefined();
    expect(browserProblems).toEqual([]);
  });
});
