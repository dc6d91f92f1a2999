/**
 * Headless Chromium for checking reports: render an HTML file, collect console errors, take a
 * screenshot. Uses the system Chromium through playwright-core (no browser download).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
}

/** Opens a report file, optionally screenshots it, and reports console errors and outside requests. */
export async function renderReport(file: string, opts: { screenshot?: string; width?: number; fullPage?: boolean } = {}): Promise<{ consoleErrors: string[]; externalRequests: string[]; summaryText: string; title: string }> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1280, height: 900 } });
    const consoleErrors: string[] = [];
    const externalRequests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) externalRequests.push(r.url());
    });
    await page.goto(`file://${file}`);
    const summaryText = (await page.textContent('#summary')) ?? '';
    const title = await page.title();
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: opts.fullPage ?? true });
    return { consoleErrors, externalRequests, summaryText, title };
  } finally {
    await browser.close();
  }
}
