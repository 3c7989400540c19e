// Honest status in the browser (issue 22): a river gauge that sends only radio metadata shows 无测量数据 (no measurement
// data) in the duty console — in the legend, the status counts and its own panel, in the no-data colour — never 正常
// or green; a water level then makes it normal. Registered and published as an installer and a device would: the admin
// devices form, then MQTT with the device's own token. Needs `npm run build` first (npm run test:e2e does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, saveScreenshot, sessionCookie, signIn, openSensorAtCentre, registerGaugeAtCentre, sleep, startServer, type TestServer } from './support';

const DEVICE = 'RL-NODATA';
/** STATUS_COLOURS.no_data and .normal (src/lib/domain/levels.ts), as the browser reports computed colours. */
const NO_DATA_RGB = 'rgb(38, 38, 38)';
const NORMAL_RGB = 'rgb(46, 157, 79)';

let server: TestServer;
let browser: Browser;
beforeAll(async () => {
	server = await startServer({ simulate: false });
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
	await server?.dispose();
});

async function api<T>(path: string): Promise<T> {
	const res = await fetch(server.url + path, { headers: { cookie: await sessionCookie(server, 'duty') } });
	expect(res.status, path).toBe(200);
	return (await res.json()) as T;
}


/** The console has its sensors and the map has had time to draw them. */
async function settled(page: Page): Promise<void> {
	await page.locator('canvas.maplibregl-canvas').waitFor({ timeout: 30_000 });
	await page.waitForFunction(() => !document.querySelector('[data-testid="sensors-loading"]'), undefined, { timeout: 30_000 });
	await sleep(1500);
}

async function publish(token: string, values: Record<string, number>): Promise<void> {
	const client = await mqtt.connectAsync(server.mqttUrl, { username: DEVICE, password: token, reconnectPeriod: 0 });
	try {
		await client.publishAsync(`shudi/v1/devices/${DEVICE}/up`, JSON.stringify({ ts: new Date().toISOString(), values }), { qos: 1 });
	} finally {
		await client.endAsync();
	}
}

const status = async () => (await api<{ properties: { status: string } }>(`/api/v1/sensors/${DEVICE}`)).properties.status;

describe('a gauge that sends only radio metadata', () => {
	let token = '';

	it('is registered by the admin at the centre of the township view', async () => {
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'admin');
			token = await registerGaugeAtCentre(page, server, DEVICE, '无数据测试水位计');
			expect(await status()).toBe('unknown');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('shows 无测量数据 in the legend, the counts and its panel, not green', async () => {
		expect(token, 'needs the device registered above').not.toBe('');
		await publish(token, { rssi_dbm: -97, snr_db: 7.5 });
		await expect.poll(status, { timeout: 5000, interval: 100 }).toBe('no_data');
		// The values were stored all the same.
		const detail = await api<{ properties: { values: Record<string, unknown>; last_measured_at: string | null } }>(`/api/v1/sensors/${DEVICE}`);
		expect(Object.keys(detail.properties.values).sort()).toEqual(['rssi_dbm', 'snr_db']);
		expect(detail.properties.last_measured_at).toBeNull();

		const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'duty');
			await page.goto(server.url + '/');
			await settled(page);

			const legend = page.getByTestId('legend').locator('li[data-status="no_data"]');
			expect((await legend.textContent())?.trim()).toBe('无测量数据');
			expect(await legend.locator('.swatch').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(NO_DATA_RGB);
			const counts = page.getByTestId('status-counts');
			await expect.poll(() => counts.textContent()).toContain('无测量数据1');

			// The gauge stands at the centre of the first view: zoom in there until it is drawn alone, and open it.
			const panel = await openSensorAtCentre(page, DEVICE);
			const text = (await panel.textContent()) ?? '';
			expect(text).toContain('无测量数据');
			expect(text).not.toContain('正常');
			expect(await panel.locator('h2 svg path').evaluate((e) => getComputedStyle(e).fill)).toBe(NO_DATA_RGB);
			await expect.poll(() => page.getByTestId('last-measured').textContent()).toContain('从未');
			const shot = await saveScreenshot(page, 'no-data-panel');
			expect(shot).toMatch(/no-data-panel\.png$/);

			// A water level, and it is a working gauge: the open page turns it normal live.
			await publish(token, { water_level_m: 1.42 });
			await expect.poll(status, { timeout: 5000, interval: 100 }).toBe('normal');
			await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain('1.42');
			await expect.poll(() => panel.locator('h2 svg path').evaluate((e) => getComputedStyle(e).fill), { timeout: 10_000 }).toBe(NORMAL_RGB);
			expect((await panel.textContent()) ?? '').toContain('正常');
			await expect.poll(() => page.getByTestId('last-measured').textContent()).not.toContain('从未');
			await saveScreenshot(page, 'no-data-then-normal');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('a key no profile maps is a device-health notice on the admin devices page, linked to its dead letters', async () => {
		expect(token, 'needs the device registered above').not.toBe('');
		await publish(token, { water_level_m: 1.4, depth: 2 });
		await publish(token, { water_level_m: 1.4, depth: 3 });
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		try {
			await signIn(page, server, 'admin');
			const notice = page.getByTestId('device-notices').locator(`li[data-device="${DEVICE}"][data-key="depth"]`);
			await expect
				.poll(
					async () => {
						await page.goto(server.url + '/admin/devices', { waitUntil: 'networkidle' });
						return notice.count();
					},
					{ timeout: 10_000, interval: 500 }
				)
				.toBe(1);
			const text = (await notice.textContent()) ?? '';
			expect(text).toContain('设备上报了未识别的字段 「depth」');
			expect(text).toContain('共 2 次');
			expect(text).toContain('3');
			expect(await notice.getByTestId('notice-link').getAttribute('href')).toBe(`/admin/dead-letters?device=${DEVICE}&reason=unknown_metric`);
			await notice.scrollIntoViewIfNeeded();
			await saveScreenshot(page, 'no-data-admin-notice');
			await notice.getByTestId('notice-link').click();
			await page.waitForURL((u) => u.pathname === '/admin/dead-letters');
			expect(await page.locator('body').textContent()).toContain('depth');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});
