// Map from the dead letters in the browser (issue 22 item 3): a river gauge whose firmware names its reading
// `waterLevel`, in cm (ThingsBoard-style keys), publishes with its own token; nothing is stored and the admin finds
// the key grouped on /admin/dead-letters, maps it to 水位 water_level_m from cm with a preview of what the held
// messages would store, confirms — and the duty console's sensor panel then shows the water level in metres.
// Needs `npm run build` first (npm run test:e2e does it).
//
// SOURCE: ThingsBoard MQTT device API, https://thingsboard.io/docs/reference/mqtt-api/#telemetry-upload-api
//   (`{"ts": …, "values": {…}}` with keys the firmware names).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, saveScreenshot, sessionCookie, signIn, openSensorAtCentre, registerGaugeAtCentre, sleep, startServer, type TestServer } from './support';

const DEVICE = 'RL-MAPKEY';

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

async function api<T>(path: string, user = 'admin'): Promise<T> {
	const res = await fetch(server.url + path, { headers: { cookie: await sessionCookie(server, user) } });
	expect(res.status, path).toBe(200);
	return (await res.json()) as T;
}


async function publish(token: string, body: unknown): Promise<void> {
	const client = await mqtt.connectAsync(server.mqttUrl, { username: DEVICE, password: token, reconnectPeriod: 0 });
	try {
		await client.publishAsync(`shudi/v1/devices/${DEVICE}/up`, JSON.stringify(body), { qos: 1 });
	} finally {
		await client.endAsync();
	}
}

const sensor = () => api<{ properties: { status: string; values: Record<string, { value: number }> } }>(`/api/v1/sensors/${DEVICE}`, 'duty');

async function newPage(width = 1920, height = 1080): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
	const ctx = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
	const page = await ctx.newPage();
	return { page, errors: collectPageErrors(page), close: () => ctx.close() };
}

describe('an admin maps a dead-lettered key and the sensor shows its water level', () => {
	let token = '';
	const t1 = new Date(Date.now() - 4 * 60_000).toISOString();
	const t2 = new Date(Date.now() - 2 * 60_000).toISOString();

	it('a gauge sending waterLevel in cm stores nothing, and the key is grouped in the dead letters', async () => {
		const { page, errors, close } = await newPage();
		try {
			await signIn(page, server, 'admin');
			token = await registerGaugeAtCentre(page, server, DEVICE, '映射测试水位计');

			await publish(token, { ts: t1, values: { waterLevel: 148 } });
			await publish(token, { ts: t2, values: { waterLevel: 152.5 } });
			expect(Object.keys((await sensor()).properties.values)).not.toContain('water_level_m');

			// The embedded broker acknowledges a device once its message is on the way to the ingest, not once it is
			// committed: the admin opens the page when the two dead letters are listed.
			await expect
				.poll(async () => (await api<{ items: unknown[] }>(`/api/v1/dead-letters?device=${DEVICE}&reason=unknown_metric`)).items.length, { timeout: 10_000 })
				.toBe(2);
			await page.goto(server.url + '/admin/dead-letters', { waitUntil: 'networkidle' });
			const group = page.getByTestId('unknown-group').filter({ hasText: DEVICE });
			await expect.poll(() => group.count(), { timeout: 10_000 }).toBe(1);
			const text = (await group.textContent()) ?? '';
			expect(text).toContain('waterLevel');
			expect(text).toContain('152.5');
			expect(await group.locator('td').nth(2).textContent()).toBe('2');
			await saveScreenshot(page, 'dead-letters-groups');
			expect(errors).toEqual([]);
		} finally {
			await close();
		}
	});

	it('previews 1.525 m from the held messages, then maps and replays them', async () => {
		expect(token, 'needs the device above').not.toBe('');
		const { page, errors, close } = await newPage();
		try {
			await signIn(page, server, 'admin');
			await page.goto(server.url + '/admin/dead-letters', { waitUntil: 'networkidle' });
			await page.getByTestId('unknown-group').filter({ hasText: DEVICE }).getByRole('link', { name: '映射此字段 map this key' }).click();
			await page.waitForURL(/\/admin\/dead-letters\/map\?/);
			await expect.poll(() => page.getByTestId('group-summary').textContent()).toContain('暂存 2 条');

			// A wrong unit first: the schema's message, Chinese first, and the form as typed.
			await page.selectOption('select[name=metric]', 'water_level_m');
			await page.selectOption('select[name=unit]', 'V');
			await page.fill('input[name=scale]', '1');
			await page.getByRole('button', { name: '预览' }).click();
			await expect.poll(() => page.getByTestId('mapping-errors').textContent()).toContain('单位 V 不能换算成 water_level_m');
			expect(await page.inputValue('select[name=metric]')).toBe('water_level_m');
			expect(await page.inputValue('input[name=scale]')).toBe('1');
			expect(await page.getByTestId('confirm-mapping').isDisabled()).toBe(true);

			await page.selectOption('select[name=unit]', 'cm');
			await page.getByRole('button', { name: '预览' }).click();
			const readings = page.getByTestId('preview-reading');
			await expect.poll(() => readings.count()).toBe(2);
			expect(await readings.allTextContents()).toEqual([expect.stringContaining('1.48 m'), expect.stringContaining('1.525 m')]);
			expect(await page.getByTestId('preview-summary').textContent()).toContain('其中 2 条会存入该字段');
			await saveScreenshot(page, 'dead-letters-map-preview');
			// Previewing stored nothing.
			expect(Object.keys((await sensor()).properties.values)).not.toContain('water_level_m');

			await page.getByTestId('confirm-mapping').click();
			await expect.poll(() => page.getByTestId('mapping-done').textContent(), { timeout: 15_000 }).toContain('存入读数 2 个');
			await saveScreenshot(page, 'dead-letters-map-done');
			await expect.poll(async () => (await sensor()).properties.values.water_level_m?.value, { timeout: 10_000 }).toBe(1.525);

			// The group is gone; the device's profile page lists the new own field.
			await page.goto(server.url + '/admin/dead-letters', { waitUntil: 'networkidle' });
			expect(await page.getByTestId('unknown-group').filter({ hasText: DEVICE }).count()).toBe(0);
			await page.goto(server.url + `/admin/devices/${DEVICE}/profile`, { waitUntil: 'networkidle' });
			expect(await page.getByTestId('own-fields').textContent()).toContain('waterLevel');
			await page.fill('textarea[name=payload]', JSON.stringify({ values: { waterLevel: 160, snow: 1 } }));
			await page.getByRole('button', { name: '预览' }).click();
			await expect.poll(() => page.getByTestId('preview-reading').first().textContent()).toContain('1.6 m');
			expect(await page.getByTestId('preview-rejected').textContent()).toContain('snow');
			await saveScreenshot(page, 'device-profile-preview');
			expect(errors).toEqual([]);
		} finally {
			await close();
		}
	});

	it('the duty console shows the gauge with its water level', async () => {
		const { page, errors, close } = await newPage(1600, 1000);
		try {
			await signIn(page, server, 'duty');
			await page.goto(server.url + '/');
			await page.locator('canvas.maplibregl-canvas').waitFor({ timeout: 30_000 });
			await page.waitForFunction(() => !document.querySelector('[data-testid="sensors-loading"]'), undefined, { timeout: 30_000 });
			await sleep(1500);
			// The gauge stands at the centre of the first view: zoom in there until it is drawn alone, and open it.
			const panel = await openSensorAtCentre(page, DEVICE);
			await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain('1.525');
			expect((await panel.textContent()) ?? '').not.toContain('无测量数据');
			await saveScreenshot(page, 'dead-letters-mapped-sensor');
			expect(errors).toEqual([]);
		} finally {
			await close();
		}
	});
});
