// Setting up a real township as an admin does it in the browser: import a land-bureau Shapefile (CGCS2000 GK zone,
// GBK names), look at the preview and the report, confirm, and find the villages on the duty map; a file with
// problems shows them in plain words and cannot be saved. Needs `npm run build` first (npm run test:e2e does it).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, mapIdle, saveScreenshot, signIn, startServer, type TestServer } from './support';

let browser: Browser;
let server: TestServer;
let page: Page;
let errors: string[];
beforeAll(async () => {
	browser = await launchBrowser();
	server = await startServer({ simulate: false });
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
	page = await ctx.newPage();
	errors = collectPageErrors(page);
	await signIn(page, server, 'admin');
	return async () => {
		await server.dispose();
		await browser.close();
	};
});
afterAll(() => undefined);

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/boundaries/${name}`, import.meta.url));

/** Names of the villages MapLibre has drawn on the duty map. */
async function villagesOnDutyMap(): Promise<string[]> {
	return page.evaluate(() => [...new Set((window.shudiMap?.queryRenderedFeatures({ layers: ['village-fill'] }) ?? []).map((f) => String(f.properties?.name)))]);
}

describe('township setup in the browser', () => {
	it('a file with problems shows them in plain words and offers no save', async () => {
		await page.goto(`${server.url}/admin/villages`);
		await page.setInputFiles('[data-testid=boundary-file]', fixture('villages-problems.geojson'));
		await Promise.all([page.waitForURL(/import=\d+/), page.click('[data-testid=preview-button]')]);
		const report = await page.getByTestId('report').textContent();
		expect(report).toContain('重叠甲村（第1个） 与 重叠乙村（第2个） 重叠约');
		expect(report).toContain('crosses itself');
		expect(report).toContain('has no village name');
		expect(await page.getByTestId('confirm-import').count()).toBe(0);
		await saveScreenshot(page, 'setup-import-problems');
	});

	it('a broken zip is a clear error, not a crash', async () => {
		await page.goto(`${server.url}/admin/villages`);
		await page.setInputFiles('[data-testid=boundary-file]', fixture('broken.zip'));
		await page.click('[data-testid=preview-button]');
		await expect.poll(() => page.getByTestId('form-errors').textContent()).toContain('The zip file is damaged');
		// The browser logs the form's 400 answer; that one is expected, anything else is not.
		expect(errors).toEqual([expect.stringMatching(/status of 400 .*\/admin\/villages\?\/preview/)]);
		errors.length = 0;
	});

	it('imports a GK Shapefile: preview with report, confirm, villages on the duty map', async () => {
		await page.goto(`${server.url}/admin/villages`);
		await page.setInputFiles('[data-testid=boundary-file]', fixture('cunjie_4544.zip'));
		await Promise.all([page.waitForURL(/import=\d+/), page.click('[data-testid=preview-button]')]);
		const preview = await page.getByTestId('preview').textContent();
		expect(preview).toContain('EPSG:4544');
		expect(preview).toContain('中央经线105°E');
		expect(preview).toContain('东岭村');
		expect(await page.getByTestId('report-summary').textContent()).toContain('0 个错误');
		// The preview map draws the three boundaries from the file.
		await page.waitForFunction(() => {
			const m = (window as unknown as { shudiPreviewMap?: import('maplibre-gl').Map }).shudiPreviewMap;
			return !!m && m.loaded() && m.queryRenderedFeatures({ layers: ['preview-fill'] }).length >= 3;
		});
		await saveScreenshot(page, 'setup-import-preview');
		await page.click('[data-testid=confirm-import]');
		await expect.poll(() => page.getByTestId('import-saved').textContent()).toContain('新增 3 个村');

		await page.goto(`${server.url}/`);
		await mapIdle(page);
		await expect.poll(villagesOnDutyMap, { timeout: 20_000 }).toEqual(expect.arrayContaining(['东岭村', '西坡村', '南岗村', '松林村']));
		await saveScreenshot(page, 'setup-duty-map-with-imported-villages');
		expect(errors).toEqual([]);
	});
});
