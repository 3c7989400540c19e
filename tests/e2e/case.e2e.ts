// The case page as the duty officer uses it: a reported case opens with its level, deadlines and people to call, is
// accepted from the page and the timeline shows it; a sensor case shows the river gauge's chart with its threshold
// lines. Needs `npm run build` first (npm run test:e2e does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { collectPageErrors, launchBrowser, saveScreenshot, sessionCookie, signIn, sleep, startServer, type TestServer } from './support';

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

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
	const res = await fetch(server.url + path, { ...init, headers: { cookie: await sessionCookie(server, 'duty'), 'content-type': 'application/json', origin: server.url, ...(init.headers ?? {}) } });
	return { status: res.status, body: (await res.json()) as T };
}

/** Publishes readings as the device itself, over MQTT with its demo credential; `ts` spread back from now. */
async function publish(device: string, levels: number[], everyMs: number): Promise<void> {
	const client = await mqtt.connectAsync(server.mqttUrl, { username: device, password: `shudi-demo-${device}`, reconnectPeriod: 0 });
	try {
		const now = Date.now();
		const body = levels.map((v, i) => ({ ts: new Date(now - (levels.length - 1 - i) * everyMs).toISOString(), values: { water_level_m: v } }));
		await client.publishAsync(`shudi/v1/devices/${device}/up`, JSON.stringify(body), { qos: 1 });
	} finally {
		await client.endAsync();
	}
}

describe('case page', () => {
	it('shows a reported case and records an accept made on the page', async () => {
		const sensors = await api<{ features: { geometry: { coordinates: [number, number] }; properties: { id: string } }[] }>('/api/v1/sensors');
		const rl = sensors.body.features.find((f) => f.properties.id === 'RL-01')!;
		const [lng, lat] = rl.geometry.coordinates;
		const created = await api<{ id: number }>('/api/v1/incidents', { method: 'POST', body: JSON.stringify({ category: 'flood', title: '测试内涝', level: 'orange', lng, lat }) });
		expect(created.status).toBe(201);
		const id = created.body.id;

		const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'duty');
			await page.goto(`${server.url}/incidents/${id}`);
			await expect.poll(() => page.locator('h1').textContent()).toContain('测试内涝');
			expect(await page.getByTestId('level-badge').textContent()).toContain('橙色');
			expect(await page.getByTestId('case-status').textContent()).toContain('待受理');
			expect(await page.locator('a[href^="tel:"]').count()).toBeGreaterThan(0);
			await page.waitForSelector('[data-testid=case-map] canvas.maplibregl-canvas');

			await page.waitForSelector('body[data-ready]');
			await page.locator('button.act-accept').click();
			await page.locator('form button.submit').click();
			await expect.poll(() => page.getByTestId('case-status').textContent(), { timeout: 10_000 }).toContain('已受理');
			const accepted = page.locator('[data-testid=timeline] li.ev-accept');
			await expect.poll(() => accepted.count()).toBe(1);
			expect(await accepted.textContent()).toContain('值班员');
			expect((await api<{ status: string }>(`/api/v1/incidents/${id}`)).body.status).toBe('accepted');
			// The actions offered follow the new status: a duty officer now dispatches, and no longer accepts.
			expect(await page.locator('button.act-dispatch').count()).toBe(1);
			expect(await page.locator('button.act-accept').count()).toBe(0);
			await sleep(300); // let the map finish drawing for the screenshot
			await saveScreenshot(page, 'case-page');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('charts the river gauge of a sensor case with its threshold lines', async () => {
		// A rise over half an hour that crosses RL-01's 警戒水位 (demo: 3.5 m) raises an alarm, which opens a case.
		await publish('RL-01', [2.2, 2.3, 2.5, 2.8, 3.1, 3.4, 3.7, 3.8], 4 * 60_000);
		let caseId: number | undefined;
		await expect
			.poll(
				async () => {
					const list = await api<{ items: { id: number; device_id: string | null }[] }>('/api/v1/incidents?category=flood&status=open');
					caseId = list.body.items.find((i) => i.device_id === 'RL-01')?.id;
					return caseId;
				},
				{ timeout: 20_000, interval: 250 }
			)
			.toBeDefined();

		const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'duty');
			await page.goto(`${server.url}/incidents/${caseId}`);
			const chart = page.getByTestId('sensor-chart');
			await chart.locator('canvas').waitFor({ timeout: 15_000 });
			await expect.poll(() => page.getByTestId('thresholds-legend').textContent()).toContain('警戒水位');
			expect(await page.getByTestId('thresholds-legend').textContent()).toContain('保证水位');
			expect(await page.getByTestId('chart-value').textContent()).toContain('3.8');
			const box = (await chart.locator('canvas').boundingBox())!;
			expect(box.width).toBeGreaterThan(250);
			expect(box.width).toBeLessThanOrEqual(390);
			// The 7d range comes from the hourly rollup.
			const res = page.waitForResponse((r) => r.url().includes('/history?range=7d'));
			await chart.getByRole('button', { name: '7d' }).click();
			expect(((await (await res).json()) as { resolution: string }).resolution).toBe('hour');
			await chart.getByRole('button', { name: '1h' }).click();
			await chart.locator('canvas').waitFor();
			await chart.scrollIntoViewIfNeeded();
			await sleep(200);
			await saveScreenshot(page, 'sensor-chart');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});
