/**
 * Debian's Chromium (`apt-get install chromium`) driven by playwright-core, to print
 * certificates to PDF and to test the explorer: headless, a fresh profile each time,
 * nothing reaching out to the network on its own. CHROMIUM_PATH names another build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  /** a browser context; its pages share the fresh profile */
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh user-data-dir, removed on close. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'cartulary-chromium-'));
  // A persistent context is the way to give Chromium its own user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Prints a self-contained HTML document to an A4 PDF. */
export async function printPdf(html: string): Promise<Uint8Array> {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    // The document carries everything it shows: nothing may load from anywhere while printing.
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html, { waitUntil: 'load' });
    // Numbered pages: a court cites a page, and a missing one shows.
    const footerTemplate = '<div style="font-size:8px;width:100%;text-align:center;color:#555">page <span class="pageNumber"></span> of <span class="totalPages"></span></div>';
    return new Uint8Array(await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true, displayHeaderFooter: true, headerTemplate: '<div></div>', footerTemplate, margin: { bottom: '16mm' } }));
  } finally {
    await browser.close();
  }
}
