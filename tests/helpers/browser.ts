/**
 * Debian's Chromium driven by playwright-core (no browser download: executablePath is the
 * system's). Playwright gives each launch a fresh temporary user data dir and removes it on close.
 *
 *   const browser = await launchChromium();
 *   const page = await (await browser.newContext()).newPage();
 *   await shoot(page, 'apps');   // test-output/screenshots/apps-desktop.png and apps-phone.png
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { repoRoot } from '../../harness/paths.js';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Signs in on the dashboard's login page and waits for the home page. */
export async function signIn(page: Page, baseUrl: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#password', password);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForURL(`${baseUrl}/`);
}

/** Chromium with one desktop-sized context whose page is signed in to the dashboard at `baseUrl`. */
export async function signedInBrowser(baseUrl: string, password: string, options: BrowserContextOptions = {}): Promise<{ browser: Browser; ctx: BrowserContext; page: Page }> {
  const browser = await launchChromium();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await ctx.newPage();
  await signIn(page, baseUrl, password);
  return { browser, ctx, page };
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

export function screenshotDir(): string {
  const dir = join(repoRoot(), 'test-output', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Controls on the page without an accessible name (label, aria-label, or text for buttons). */
export function unlabeledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const bad: string[] = [];
    for (const el of Array.from(document.querySelectorAll('input, textarea, select, button'))) {
      if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
      const labelled = el.getAttribute('aria-label')
        || (el.id && document.querySelector(`label[for="${el.id}"]`))
        || el.closest('label')
        || (el instanceof HTMLButtonElement && el.textContent?.trim());
      if (!labelled) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

/**
 * Saves the page at desktop and phone width (full page) and checks the phone layout: nothing
 * wider than 375 px (no sideways scrolling) and a name on every control.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  const dir = screenshotDir();
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(dir, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(dir, `${name}-phone.png`), fullPage: true });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${name}: the page is ${width} px wide at a 375 px viewport`);
  assert.deepEqual(await unlabeledControls(page), [], `${name}: every control has a label`);
  await page.setViewportSize(before);
}
