// The cadre's phone report (/report) in a dead zone: a report made without network is kept on the phone (IndexedDB,
// photo included), survives a reload, and is sent by itself when the network is back — then it is a case with its
// photo. Needs `npm run build` first (npm run test:e2e does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { collectPageErrors, launchBrowser, saveScreenshot, sessionCookie, signIn, startServer, type TestServer } from './support';

let browser: Browser;
let server: TestServer;
beforeAll(async () => {
	browser = await launchBrowser();
	server = await startServer({ simulate: false });
	return async () => {
		await server.dispose();
		await browser.close();
	};
});
afterAll(() => undefined);

// A 1×1 PNG: the server checks image bytes, not the file name.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** Generous: CI machines are shared and slow; a poll that passes returns at once anyway. */
const WAIT = { timeout: 15_000 };

interface CaseRow {
	id: number;
	title: string;
}

async function casesTitled(title: string): Promise<CaseRow[]> {
	const res = await fetch(`${server.url}/api/v1/incidents?q=${encodeURIComponent(title)}`, { headers: { cookie: await sessionCookie(server, 'admin') } });
	expect(res.status).toBe(200);
	return ((await res.json()) as { items: CaseRow[] }).items.filter((c) => c.title === title);
}

describe('field report without network', () => {
	it('keeps the report on the phone through a reload and sends it with its photo when the network returns', async () => {
		const sensors = (await (await fetch(`${server.url}/api/v1/sensors`, { headers: { cookie: await sessionCookie(server, 'admin') } })).json()) as {
			features: { geometry: { coordinates: [number, number] }; properties: { id: string } }[];
		};
		const [lng, lat] = sensors.features.find((f) => f.properties.id === 'RL-01')!.geometry.coordinates;
		const ctx = await browser.newContext({
			viewport: { width: 390, height: 844 },
			deviceScaleFactor: 2,
			isMobile: true,
			hasTouch: true,
			locale: 'zh-CN',
			timezoneId: 'Asia/Shanghai',
			geolocation: { longitude: lng, latitude: lat, accuracy: 8 },
			permissions: ['geolocation']
		});
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		const title = `离线上报测试 ${Date.now()}`;
		try {
			await signIn(page, server, 'cadre');
			await page.goto(`${server.url}/report`);
			await expect.poll(() => page.locator('.loc span').textContent(), WAIT).toContain(lng.toFixed(5));

			// The dead zone: every request fails as it would without signal.
			await ctx.setOffline(true);
			await page.locator('input[required]').fill(title);
			await page.locator('textarea').fill('后墙新出现裂缝，宽约 5 毫米');
			await page.locator('input[type=file]').setInputFiles({ name: 'wall.png', mimeType: 'image/png', buffer: PNG });
			await page.locator('button.go').click();
			await expect.poll(() => page.getByRole('status').textContent(), WAIT).toContain('上报已保存在手机上');
			await expect.poll(() => page.getByTestId('queued').textContent(), WAIT).toContain('待发送 1 条');
			// The form is cleared, as after a sent report: a second tap cannot queue it twice.
			expect(await page.locator('input[required]').inputValue()).toBe('');
			await saveScreenshot(page, 'report-offline-queued');
			expect(await casesTitled(title)).toHaveLength(0);

			// Signal comes back, but the server cannot be reached yet (a captive portal, a dropped upstream): the
			// report stays queued — and stays after the page is reloaded.
			await page.route('**/api/v1/incidents', (route) => route.abort('internetdisconnected'));
			await ctx.setOffline(false);
			await page.reload();
			await expect.poll(() => page.getByTestId('queued').textContent(), WAIT).toContain('待发送 1 条');
			expect(await casesTitled(title)).toHaveLength(0);

			// The server is reachable again: one tap sends it (the `online` event does the same without a tap).
			await page.unroute('**/api/v1/incidents');
			await page.getByTestId('queued').locator('button').click();
			await expect.poll(() => page.getByRole('status').textContent(), WAIT).toContain('离线保存的上报已发送');
			await expect.poll(() => page.getByTestId('queued').count(), WAIT).toBe(0);

			const stored = await casesTitled(title);
			expect(stored).toHaveLength(1);
			const detail = (await (await fetch(`${server.url}/api/v1/incidents/${stored[0].id}`, { headers: { cookie: await sessionCookie(server, 'admin') } })).json()) as Record<string, unknown>;
			expect(JSON.stringify(detail)).toContain('image/png');
			// Sent once, not once per retry.
			await page.reload();
			expect(await page.getByTestId('queued').count()).toBe(0);
			expect(await casesTitled(title)).toHaveLength(1);
			// The browser logs each request that failed for want of network; those were the point. Nothing else.
			expect(errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});
