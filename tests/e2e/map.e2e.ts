// The duty console as people use it: the map draws the demo township, a reading a device publishes over MQTT reaches
// the API and the open page live, it survives a restart, the language switch works, and a phone gets map and panel.
// Needs `npm run build` first (npm run test:e2e does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, drawnStatus, goToView, launchBrowser, mapIdle, renderedCount, renderedSensors, saveScreenshot, screenPoint, sessionCookie, signIn, startServer, type TestServer } from './support';

interface SensorFeature {
	geometry: { type: 'Point'; coordinates: [number, number] };
	properties: { id: string; name: string };
}
interface SensorDetail extends SensorFeature {
	properties: SensorFeature['properties'] & { values: Record<string, { value: number; observed_at: string; flags: number }> };
}

async function sensors(server: TestServer): Promise<SensorFeature[]> {
	const res = await fetch(`${server.url}/api/v1/sensors`, { headers: { cookie: await sessionCookie(server, 'duty') } });
	expect(res.status).toBe(200);
	return ((await res.json()) as { features: SensorFeature[] }).features;
}

/** One sensor with its latest values (the list carries none). */
async function sensor(server: TestServer, id: string): Promise<SensorDetail | undefined> {
	const res = await fetch(`${server.url}/api/v1/sensors/${id}`, { headers: { cookie: await sessionCookie(server, 'duty') } });
	if (res.status === 404) return undefined;
	expect(res.status).toBe(200);
	return (await res.json()) as SensorDetail;
}

let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
	return () => browser.close();
});

/** A fresh context (clean localStorage, so the page starts in Chinese) with a page-error collector. */
async function openConsole(server: TestServer, viewport = { width: 1920, height: 1080 }): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
	const ctx = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
	const page = await ctx.newPage();
	const errors = collectPageErrors(page);
	await signIn(page, server, 'duty');
	await page.goto(server.url + '/');
	await mapIdle(page);
	return { ctx, page, errors };
}

describe('duty console with the simulator running', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await startServer({ simulate: true });
		return () => server.dispose();
	});

	it('draws villages, sensors and the river, labels villages and shows the demo badge', async () => {
		const { ctx, page, errors } = await openConsole(server);
		try {
			await expect.poll(() => renderedCount(page, 'villages'), { timeout: 20_000 }).toBeGreaterThanOrEqual(8);
			await expect.poll(() => renderedSensors(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(40);
			await expect.poll(() => renderedCount(page, 'rivers'), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
			await expect.poll(() => renderedCount(page, 'township'), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);

			const labels = await page.locator('.village-label').allTextContents();
			expect(labels).toContain('松林村');
			expect(labels.length).toBeGreaterThanOrEqual(10);
			expect(await page.getByTestId('demo-badge').isVisible()).toBe(true);
			expect(await page.getByTestId('status-counts').locator('li').count()).toBeGreaterThan(0);

			await saveScreenshot(page, 'console');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('switches the interface to English and back', async () => {
		const { ctx, page, errors } = await openConsole(server);
		try {
			const button = page.getByRole('button', { name: 'English' });
			await button.click();
			await expect.poll(() => page.locator('h1').textContent()).toContain('Township map');
			await expect.poll(() => page.locator('button.lang').textContent()).toBe('中文');
			expect(await page.getByTestId('demo-badge').textContent()).toContain('Demo data');
			await saveScreenshot(page, 'console-en');

			await page.getByRole('button', { name: '中文' }).click();
			await expect.poll(() => page.locator('h1').textContent()).toContain('一张图');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('fits map and panel on a phone', async () => {
		const { ctx, page, errors } = await openConsole(server, { width: 390, height: 844 });
		try {
			await expect.poll(() => renderedCount(page, 'villages'), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
			await expect.poll(() => renderedSensors(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
			const canvas = await page.locator('canvas.maplibregl-canvas').boundingBox();
			const panel = await page.locator('aside.panel').boundingBox();
			expect(canvas && canvas.width >= 380 && canvas.height >= 300).toBe(true);
			// The panel sits below the map, inside the screen width, without covering it.
			expect(panel).not.toBeNull();
			expect(panel!.x).toBeGreaterThanOrEqual(0);
			expect(panel!.x + panel!.width).toBeLessThanOrEqual(390 + 0.5);
			expect(panel!.y).toBeGreaterThanOrEqual(canvas!.y + canvas!.height - 1);
			expect(await page.getByTestId('demo-badge').isVisible()).toBe(true);
			await saveScreenshot(page, 'phone');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});

describe('a reading published by hand, simulator off', () => {
	const DEVICE = 'RL-01';
	const LEVEL = 2.61;
	let server: TestServer;
	let publishedAt: string | undefined;
	beforeAll(async () => {
		server = await startServer({ simulate: false });
		return () => server.dispose();
	});

	async function publish(device: string, values: Record<string, number>): Promise<string> {
		const ts = new Date().toISOString();
		const client = await mqtt.connectAsync(server.mqttUrl, { username: device, password: `shudi-demo-${device}`, reconnectPeriod: 0 });
		try {
			await client.publishAsync(`shudi/v1/devices/${device}/up`, JSON.stringify({ ts, values }), { qos: 1 });
		} finally {
			await client.endAsync();
		}
		return ts;
	}

	/**
	 * Zooms in on the sensor, as a link to its place would, so no neighbour overlaps it; checks the map draws it there
	 * on its own; then clicks it on the canvas.
	 */
	async function clickSensor(page: Page, id: string, lngLat: [number, number]): Promise<void> {
		await goToView(page, lngLat, 17);
		await expect.poll(() => drawnStatus(page, id), { timeout: 5000 }).not.toBeNull();
		const at = await screenPoint(page, lngLat);
		await page.mouse.click(at.x, at.y);
	}

	it('reaches the API and the open page live', async () => {
		const { ctx, page, errors } = await openConsole(server);
		try {
			const before = await sensor(server, DEVICE);
			expect(before, `${DEVICE} in /api/v1/sensors`).toBeDefined();
			expect(before!.properties.values.water_level_m?.value).not.toBe(LEVEL);

			// The page loads before the reading exists, so seeing it afterwards proves the live (SSE) path.
			publishedAt = await publish(DEVICE, { water_level_m: LEVEL });
			await expect
				.poll(async () => (await sensor(server, DEVICE))?.properties.values.water_level_m?.value, { timeout: 2000, interval: 100 })
				.toBe(LEVEL);

			await clickSensor(page, DEVICE, before!.geometry.coordinates);
			const panel = page.getByTestId('sensor-panel');
			await expect.poll(() => panel.textContent(), { timeout: 5000 }).toContain(DEVICE);
			await expect.poll(() => panel.textContent(), { timeout: 5000 }).toContain(String(LEVEL));
			await saveScreenshot(page, 'sensor-panel');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('is still there after the server restarts on the same data directory', async () => {
		expect(publishedAt, 'needs the reading from the previous test').toBeDefined();
		await server.restart();
		const after = await sensor(server, DEVICE);
		expect(after?.properties.values.water_level_m?.value).toBe(LEVEL);
		expect(new Date(after!.properties.values.water_level_m.observed_at).toISOString()).toBe(publishedAt);
	});

	it('updates the sensor panel a user already has open', async () => {
		// Another gauge than RL-01, so this test does not depend on (or disturb) the reading above.
		const gauge = (await sensors(server)).find((f) => f.properties.id.startsWith('RL-') && f.properties.id !== DEVICE);
		expect(gauge, 'a second river-level sensor in the demo township').toBeDefined();
		const id = gauge!.properties.id;
		const { ctx, page, errors } = await openConsole(server);
		try {
			await clickSensor(page, id, gauge!.geometry.coordinates);
			const panel = page.getByTestId('sensor-panel');
			await expect.poll(() => panel.textContent(), { timeout: 5000 }).toContain(id);

			await publish(id, { water_level_m: 1.87 });
			await expect.poll(async () => (await sensor(server, id))?.properties.values.water_level_m?.value, { timeout: 2000 }).toBe(1.87);
			await expect.poll(() => panel.textContent(), { timeout: 5000 }).toContain('1.87');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('catches up on what changed while the sensor list loaded, by replay from the list’s cursor, with a loading notice meanwhile', async () => {
		// RL-01 goes red (above its 保证水位 4.2 m) after the page has asked for the list but before it has the answer:
		// the list it gets is the one from before the reading, so only the live stream, opened from the list's cursor
		// and replaying what came after it, can make the symbol red. The list is read once: the preload link's request
		// is the one the page uses, and no resync was needed.
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'duty');
			let listRead!: () => void;
			const read = new Promise<void>((r) => (listRead = r));
			let release!: () => void;
			const released = new Promise<void>((r) => (release = r));
			let listReads = 0;
			await page.route('**/api/v1/sensors', async (route) => {
				listReads++;
				const before = await route.fetch();
				const body = await before.text();
				listRead();
				await released;
				// With its headers: X-Live-Cursor says where the live stream takes over.
				await route.fulfill({ response: before, body });
			});
			await page.goto(server.url + '/');
			await read;
			await expect.poll(() => page.getByTestId('sensors-loading').isVisible()).toBe(true);
			await saveScreenshot(page, 'console-loading');
			await publish(DEVICE, { water_level_m: 4.6 });
			await expect.poll(async () => ((await sensor(server, DEVICE))?.properties as { status?: string } | undefined)?.status, { timeout: 5000, interval: 100 }).toBe('red');
			release();
			await mapIdle(page);
			const at = (await sensor(server, DEVICE))!.geometry.coordinates;
			await goToView(page, at, 16);
			await expect.poll(() => drawnStatus(page, DEVICE), { timeout: 5000 }).toBe('red');
			expect(await page.getByTestId('sensors-loading').count()).toBe(0);
			expect(listReads).toBe(1);
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});
