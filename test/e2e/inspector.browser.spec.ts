import 'reflect-metadata';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreInspectorModule } from 'nestjs-memory-store';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp } from './fixtures/app.factory.js';
import { BooksStore, OperationsAppModule, PagesStore } from './fixtures/operations-app.module.js';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the screenshots go: INSPECTOR_SCREENSHOTS, else a new temporary directory. */
const SHOTS = process.env.INSPECTOR_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'nms-inspector-'));

describe('inspector in headless Chromium', () => {
  let app: INestApplication;
  let browser: Browser;
  let page: Page;
  let books: BooksStore;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
      );
    app = await createApp(
      OperationsAppModule.register(
        {},
        [BooksStore, PagesStore],
        [MemoryStoreInspectorModule.forRoot({ enabled: true })],
      ),
    );
    await app.init();
    books = app.get(BooksStore);
    const authors = ['Le Guin', 'Herbert', 'Austen', 'Morrison', 'Borges'];
    for (let i = 0; i < 40; i++)
      await books.write({
        isbn: `978-${1000 + i}`,
        title: `Volume ${i + 1}`,
        author: authors[i % 5],
        year: 1950 + i,
      });
    await app.get(PagesStore).write({ url: '/home', html: '<h1>Home</h1>' });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/_stores`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the stores and the first table, pages through it, and connects the live feed', async () => {
    await page.locator('.store[data-table="books"]').waitFor();
    expect(await page.locator('.store[data-table="pages"] .store-count').textContent()).toBe('1');
    await expect(page.locator('#table-title').textContent()).resolves.toBe('books');
    await page.locator('#records tbody tr').nth(24).waitFor();
    expect(await page.locator('#records tbody tr').count()).toBe(25);
    expect(await page.locator('#page-info').textContent()).toBe('1–25 of 40');
    await page.click('#next');
    await page.waitForFunction(
      "document.querySelector('#page-info')?.textContent === '26–40 of 40'",
    );
    await page.click('#prev');
    await page.waitForFunction(
      "document.querySelector('#page-info')?.textContent === '1–25 of 40'",
    );
    await page.locator('#live[data-state="open"]').waitFor();
  }, 30_000);

  it('runs a query and shows its results and plan; a bad filter shows the QueryError message', async () => {
    await page.fill('#filter', '{ "author": "Austen", "year": { "$gte": 1960 } }');
    await page.click('#query-form button[type="submit"]');
    await page.locator('#explain:not([hidden])').waitFor();
    expect(await page.locator('#explain').textContent()).toContain('index lookup');
    expect(await page.locator('#results tbody tr').count()).toBe(6);

    await page.fill('#filter', '{ "year": { "$near": 1 } }');
    await page.click('#query-form button[type="submit"]');
    await page.locator('#query-error:not([hidden])').waitFor();
    expect(await page.locator('#query-error').textContent()).toMatch(/\$near/);

    await page.fill('#filter', '{ "author": "Austen", "year": { "$gte": 1960 } }');
    await page.click('#query-form button[type="submit"]');
    await page.locator('#explain:not([hidden])').waitFor();
  }, 30_000);

  it('shows a record written through the store in the live feed without reloading, then looks good at two widths', async () => {
    const marker = await page.evaluate('window.marker = 42');
    await books.update('978-1002', { title: 'Volume 3, revised' });
    await books.write({
      isbn: '978-9999',
      title: 'Written while watching',
      author: 'Borges',
      year: 2024,
    });
    const insert = page.locator('.change[data-op="insert"][data-table="books"]');
    await insert.waitFor();
    expect(await insert.locator('.change-key').textContent()).toBe('978-9999');
    expect(await insert.locator('.diff').textContent()).toContain('"Written while watching"');
    const update = page.locator('.change[data-op="update"]');
    expect(await update.locator('.diff .old').textContent()).toBe('"Volume 3"');
    expect(await update.locator('.diff .new').textContent()).toBe('"Volume 3, revised"');
    // the same page: nothing reloaded it
    expect(await page.evaluate('window.marker')).toBe(marker);
    // the counts follow the changes
    await page.waitForFunction(
      "document.querySelector('.store[data-table=books] .store-count')?.textContent === '41'",
    );

    await page.screenshot({ path: join(SHOTS, 'inspector-laptop.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction('window.innerWidth === 390');
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0); // nothing wider than a phone's screen
    await page.screenshot({ path: join(SHOTS, 'inspector-phone.png'), fullPage: true });
    expect(existsSync(join(SHOTS, 'inspector-phone.png'))).toBe(true);
  }, 30_000);
  it('shows markup held in keys, values and field names as text: nothing of it runs', async () => {
    const hostile = {
      isbn: '<img src=x onerror="window.__xss=1">',
      title: '<script>window.__xss=2</script>',
      author: '"><img src=x onerror=window.__xss=3>',
      year: 2025,
      '<img src=x onerror="window.__xss=4">': '<svg onload="window.__xss=5">',
    };
    await books.write(hostile);
    const change = page.locator('.change[data-op="insert"]', {
      hasText: 'onerror="window.__xss=1"',
    });
    await change.waitFor();
    expect(await change.locator('.change-key').textContent()).toBe(hostile.isbn);
    expect(await change.locator('.diff').textContent()).toContain(
      '<script>window.__xss=2</script>',
    );

    await page.fill('#filter', JSON.stringify({ author: hostile.author }));
    await page.click('#query-form button[type="submit"]');
    await page.locator('#results tbody tr', { hasText: '<script>' }).waitFor();
    expect(await page.locator('#explain').textContent()).toContain('index lookup');
    const results = (await page.locator('#results').textContent()) ?? '';
    expect(results).toContain(hostile.author);
    expect(await page.locator('#results thead').textContent()).toContain(
      '<img src=x onerror="window.__xss=4">',
    );

    await page.click('#refresh');
    await page.click('#next');
    await page.locator('#records tbody tr', { hasText: '<script>' }).waitFor();

    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img, script:not([src]), svg[onload]').count()).toBe(0);
  }, 30_000);
});
