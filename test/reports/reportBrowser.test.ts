// The report's index.html opened in a real headless browser (Debian's chromium, driven by playwright-core, no
// browser download) with the network cut: it loads nothing from elsewhere, logs no error, every chart image decodes
// to a real size, and the tables and claims are there. The screenshot is kept under .cache/test-output/.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { writeReport } from '../../reports/writeReport.ts';
import { finishCell, plannedStore, runningCell } from './fixtureStore.ts';

/** Debian's chromium (scripts/setup.sh installs it), or the one SQAKD_CHROMIUM names. */
function chromiumPath(): string {
  const path = process.env.SQAKD_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no chromium at ${path}: install Debian's chromium (scripts/setup.sh) or set SQAKD_CHROMIUM`);
  return path;
}

// The flags keep chromium from reaching for Google's servers at start, which a closed network refuses noisily.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

describe('the HTML report in a browser', () => {
  it('opens from disk with the network off, without errors, with every chart, table and claim', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sqakd-report-browser-'));
    const { plan, store } = plannedStore(join(work, 'runs'), 'browser', {
      grid: { dataset: 'cifar10', arch: 'resnet20', quantizer: 'ewgs', bits: ['W2A2', 'W4A4'], method: ['ce', 'kd', 'sqakd', 'at', 'at:label-free'] },
      epochs: 3, teacherEpochs: 3,
    });
    plan.cells.forEach((c, i) => {
      if (c.config.method === 'kd' && c.config.quantization?.wBits === 4) store.recordFailure(c.id, 'the worker process exited with code 1');
      else if (c.config.method === 'at' && c.config.quantization?.wBits === 4 && c.config.settings.labelFree) runningCell(store, c, [30, 45]);
      else finishCell(store, c, 60 + i, { teacherTop1: 92 });
    });
    const outDir = join(work, 'reports', 'browser');
    await writeReport({ storeRoot: store.root, name: 'browser', outDir });

    const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
    try {
      const context = await browser.newContext({ offline: true, viewport: { width: 1300, height: 900 } });
      const elsewhere: string[] = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(outDir, 'index.html')).href, { waitUntil: 'load' });

      const seen = await page.evaluate(() => ({
        images: [...document.images].map((img) => ({ alt: img.alt, width: img.naturalWidth, height: img.naturalHeight })),
        tables: document.querySelectorAll('#tables table').length,
        claims: document.querySelectorAll('#claims article.claim').length,
        verdicts: [...document.querySelectorAll('#summary .verdict')].map((v) => v.textContent),
        failed: document.querySelector('#failed')?.textContent ?? '',
      }));
      const shots = resolve('.cache/test-output/report-browser');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'index.png'), fullPage: true });

      expect(errors).toEqual([]);
      expect(elsewhere).toEqual([]);
      expect(seen.images).toHaveLength(4);
      for (const img of seen.images) {
        expect(img.width, img.alt).toBeGreaterThan(0);
        expect(img.height, img.alt).toBeGreaterThan(0);
      }
      // Table 4 and two Table-7 settings (W2A2, W4A4).
      expect(seen.tables).toBe(3);
      expect(seen.claims).toBe(5);
      expect(seen.verdicts).toHaveLength(5);
      expect(seen.failed).toContain('the worker process exited with code 1');
    } finally {
      await browser.close();
    }
  });
});
