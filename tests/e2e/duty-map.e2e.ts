// The duty officer's map (issue #6) as people use it: a red reading published over MQTT turns its sensor's symbol
// red — also inside a cluster when zoomed out — and puts its case on top of the queue within 2 seconds, through
// partial source updates only; accepting in the queue shows on the case's timeline; a village click lists the people
// to call; the case page switches language with times in TZ_DISPLAY; a cadre's phone; and the basemap: fully offline
// with nothing configured, and an XYZ service allowed by the CSP (only its host) when configured.
// Needs `npm run build` first (npm run test:e2e does it).
import { beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { clusterCentre, collectPageErrors, drawnClusterOf, readMap, drawnStatus, freePort, goToView, launchBrowser, mapIdle, renderedSensors, saveScreenshot, screenPoint, sessionCookie, signIn, sleep, startServer, viewOf, villageSpot, type TestServer } from './support';

let browser: Browser;
beforeAll(async () => {
	browser = await launchBrowser();
	return () => browser.close();
});

async function open(server: TestServer, opts: { user?: string; viewport?: { width: number; height: number }; timezoneId?: string } = {}): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
	const ctx = await browser.newContext({ viewport: opts.viewport ?? { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: opts.timezoneId ?? 'Asia/Shanghai' });
	const page = await ctx.newPage();
	const errors = collectPageErrors(page);
	await signIn(page, server, opts.user ?? 'duty');
	return { ctx, page, errors };
}

async function openConsole(server: TestServer, opts: Parameters<typeof open>[1] = {}) {
	const o = await open(server, opts);
	await o.page.goto(server.url + '/');
	await mapIdle(o.page);
	return o;
}

async function api<T>(server: TestServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
	const res = await fetch(server.url + path, { ...init, headers: { cookie: await sessionCookie(server, 'duty'), 'content-type': 'application/json', origin: server.url, ...(init.headers ?? {}) } });
	return { status: res.status, body: (await res.json()) as T };
}

/** The colour of a PNG's top-left pixel as [r, g, b], decoded by the browser. */
function firstPixel(page: Page, png: Buffer): Promise<number[]> {
	return page.evaluate(async (src) => {
		const img = new Image();
		img.src = src;
		await img.decode();
		const c = document.createElement('canvas');
		c.width = c.height = 1;
		const ctx = c.getContext('2d')!;
		ctx.drawImage(img, 0, 0);
		return [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)];
	}, `data:image/png;base64,${png.toString('base64')}`);
}
/** The colour on screen at one point of the page, as a person sees it (a screenshot), as [r, g, b]. */
async function pixel(page: Page, at: { x: number; y: number }): Promise<number[]> {
	return firstPixel(page, await page.screenshot({ clip: { x: Math.round(at.x), y: Math.round(at.y), width: 1, height: 1 } }));
}
const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 3);

describe('duty console, simulator off', () => {
	const DEVICE = 'RL-01'; // demo: 警戒水位 3.5 m (orange), 保证水位 4.2 m (red)
	let server: TestServer;
	let redCase: number | undefined;
	beforeAll(async () => {
		server = await startServer({ simulate: false });
		return () => server.dispose();
	});

	it('turns a sensor red and puts its case on top of the queue within 2 s of an MQTT publish, with partial updates only', async () => {
		const rl = (await api<{ features: { geometry: { coordinates: [number, number] }; properties: { id: string } }[] }>(server, '/api/v1/sensors')).body.features.find((f) => f.properties.id === DEVICE)!;
		const [lng, lat] = rl.geometry.coordinates;
		// A yellow case already waits in the queue, so "on top" means the red case was sorted above it.
		expect((await api(server, '/api/v1/incidents', { method: 'POST', body: JSON.stringify({ category: 'flood', title: '先到的黄色案件', level: 'yellow', lng: lng + 0.01, lat }) })).status).toBe(201);

		// A laptop-sized window: in CI the browser renders WebGL in software (SwiftShader) on a shared CPU, where a
		// 1920×1080 frame alone can take 300 ms; the 1920×1080 console is photographed in the village test below.
		// The demo's invented history leaves a few cases open too: the queue shows them all.
		const open = (await api<{ items: { level: string }[] }>(server, '/api/v1/incidents?status=open')).body.items;
		const redBefore = open.filter((c) => c.level === 'red').length;
		const { ctx, page, errors } = await openConsole(server, { viewport: { width: 1280, height: 720 } });
		try {
			await expect.poll(() => page.getByTestId('queue-item').count()).toBe(open.length);
			await goToView(page, [lng, lat], 15);
			await expect.poll(() => drawnStatus(page, DEVICE)).not.toBeNull();
			expect(await drawnStatus(page, DEVICE)).not.toBe('red');
			// From here on the change must come as a diff over the live stream: the page never reads the whole list again.
			let listReads = 0;
			page.on('request', (r) => void (new URL(r.url()).pathname === '/api/v1/sensors' && listReads++));

			// Each condition's first moment is noted in the page (performance.timeOrigin + now() = wall clock) for the log.
			// Connected first, as a device is: the clock starts when the reading is published.
			const device = await mqtt.connectAsync(server.mqttUrl, { username: DEVICE, password: `shudi-demo-${DEVICE}`, reconnectPeriod: 0 });
			const t0 = Date.now();
			await device.publishAsync(`shudi/v1/devices/${DEVICE}/up`, JSON.stringify({ ts: new Date(t0).toISOString(), values: { water_level_m: 4.6 } }), { qos: 1 });
			await device.endAsync();
			const seen = await page.waitForFunction(
				(sid) => {
					const w = window as unknown as { seen?: { red?: number; top?: number } };
					const seen = (w.seen ??= {});
					// The map's description says how each sensor in view is painted (MapSummary.svelte).
					const drawn = document.querySelector(`[data-testid=map-summary] li[data-sensor="${sid}"]`);
					if (drawn?.getAttribute('data-status') === 'red') seen.red ??= performance.timeOrigin + performance.now();
					if (document.querySelector('[data-testid=queue-item]')?.getAttribute('data-device') === sid) seen.top ??= performance.timeOrigin + performance.now();
					return seen.red && seen.top ? seen : false;
				},
				DEVICE,
				{ polling: 25, timeout: 10_000 }
			);
			const elapsed = Date.now() - t0;
			const { red, top: onTop } = (await seen.jsonValue()) as { red: number; top: number };
			console.log(`publish → red symbol ${Math.round(red - t0)} ms, case on top of the queue ${Math.round(onTop - t0)} ms, both seen by the test ${elapsed} ms`);
			expect(elapsed).toBeLessThanOrEqual(2000);


			const top = page.getByTestId('queue-item').first();
			redCase = Number(await top.getAttribute('data-case-id'));
			expect(await top.locator('.bar').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(215, 25, 28)');
			expect(await page.locator('.level-counts .pill').first().textContent()).toContain(String(redBefore + 1));
			expect(listReads).toBe(0);

			// Zoomed out, the sensor sits in a cluster, and the cluster shows the worst status inside it: red.
			let cluster: Awaited<ReturnType<typeof drawnClusterOf>> = null;
			for (const zoom of [11.5, 10.5, 9.5, 8.5]) {
				await goToView(page, [lng, lat], zoom);
				cluster = await drawnClusterOf(page, DEVICE);
				if (cluster) break;
			}
			expect(cluster, 'RL-01 is inside a drawn cluster when zoomed out').not.toBeNull();
			expect(cluster!.worst).toBe('red');
			expect(await drawnStatus(page, DEVICE)).toBeNull();
			expect(await renderedSensors(page)).toBeGreaterThanOrEqual(40);
			// Clicking a badge zooms in to where it splits. A badge sits where supercluster puts its cluster: the mean of
			// its members' places (from the API), on screen through the view in the address. One clear of case rings is
			// taken (RL-01's own case sits on its cluster), so the click is the badge's.
			const everywhere = (await api<{ features: { geometry: { coordinates: [number, number] }; properties: { id: string } }[] }>(server, '/api/v1/sensors')).body.features;
			const openCases = (await api<{ items: { lng: number | null; lat: number | null }[] }>(server, '/api/v1/incidents?status=open&limit=500')).body.items;
			const canvasBox = (await page.locator('canvas.maplibregl-canvas').boundingBox())!;
			let badge: { x: number; y: number } | null = null;
			const tried: string[] = [];
			for (const zoom of [null, 11, 10.5, 10]) {
				if (zoom !== null) await goToView(page, [lng, lat], zoom);
				const rings = await Promise.all(openCases.filter((c) => c.lng !== null && c.lat !== null).map((c) => screenPoint(page, [c.lng!, c.lat!])));
				for (const item of (await readMap(page))!.items.filter((i) => i.data.members)) {
					const members = item.data.members.split(' ');
					const at = await screenPoint(page, clusterCentre(everywhere.filter((f) => members.includes(f.properties.id)).map((f) => f.geometry.coordinates)));
					const inside = at.x > canvasBox.x + 40 && at.x < canvasBox.x + canvasBox.width - 60 && at.y > canvasBox.y + 40 && at.y < canvasBox.y + canvasBox.height - 40;
					const clear = rings.every((r) => Math.hypot(r.x - at.x, r.y - at.y) > 40);
					tried.push(`${zoom} ${Math.round(at.x)},${Math.round(at.y)} inside=${inside} clear=${clear}`);
					if (inside && clear) {
						badge = at;
						break;
					}
				}
				if (badge) break;
			}
			expect(badge, `a cluster badge clear of case rings (tried ${tried.join('; ')})`).not.toBeNull();
			const zoomBefore = (await viewOf(page)).zoom;
			await page.mouse.click(badge!.x, badge!.y);
			await expect.poll(async () => (await viewOf(page)).zoom, { timeout: 5000 }).toBeGreaterThan(zoomBefore + 0.5);

			await goToView(page, [lng, lat], 13);
			await saveScreenshot(page, 'console-alarm');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('records an accept made in the queue on the case timeline', async () => {
		expect(redCase, 'needs the red case from the previous test').toBeDefined();
		const { ctx, page, errors } = await openConsole(server);
		try {
			const item = page.locator(`[data-testid=queue-item][data-case-id="${redCase}"]`);
			await item.getByRole('button', { name: '受理' }).click();
			// The queue re-reads the case: accepted cases no longer offer 受理.
			await expect.poll(() => item.getByRole('button', { name: '受理' }).count(), { timeout: 10_000 }).toBe(0);
			await page.goto(`${server.url}/incidents/${redCase}`);
			await page.waitForSelector('body[data-ready]');
			await expect.poll(() => page.getByTestId('case-status').textContent()).toContain('已受理');
			const accepted = page.locator('[data-testid=timeline] li.ev-accept');
			expect(await accepted.count()).toBe(1);
			expect(await accepted.textContent()).toContain('值班员');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('shows the people responsible for a clicked village, with tel: links', async () => {
		const { ctx, page, errors } = await openConsole(server);
		try {
			// A spot inside 松林村 (by its label) with no sensor, cluster or case marker nearby, so the click is the village's.
			const spot = await villageSpot(page, server, '松林村');
			await page.mouse.click(spot.x, spot.y);
			const panel = page.getByTestId('village-panel');
			await expect.poll(() => panel.locator('h2').textContent(), { timeout: 5000 }).toContain('松林村');
			const people = panel.locator('ul.people li');
			expect(await people.count()).toBeGreaterThanOrEqual(2);
			const text = await people.allTextContents();
			expect(text.join('\n')).toContain('包村干部');
			expect(text.join('\n')).toContain('包村领导');
			const tels = await panel.locator('ul.people a[href^="tel:"]').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href')!, text: a.textContent! })));
			expect(tels.length).toBeGreaterThanOrEqual(2);
			for (const t of tels) {
				expect(t.href).toMatch(/^tel:\+?[0-9-]{7,}$/);
				expect(t.href.slice(4)).toBe(t.text.trim());
			}
			await panel.scrollIntoViewIfNeeded();
			await saveScreenshot(page, 'village-panel');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('switches the case page to English and back, with times in TZ_DISPLAY whatever the browser zone', async () => {
		expect(redCase).toBeDefined();
		const inc = (await api<{ ack_due: string; opened_at: string }>(server, `/api/v1/incidents/${redCase}`)).body;
		// The browser thinks it is in New York; the page must still show Asia/Shanghai times (TZ_DISPLAY).
		const { ctx, page, errors } = await open(server, { timezoneId: 'America/New_York' });
		try {
			// Switched on the console, the choice carries over to the case page (it is kept on the device).
			await page.goto(server.url + '/');
			// Click only once the page has hydrated (the map has described itself): a click on the server-rendered button before
			// that does nothing, which made this test fail on a busy machine.
			await mapIdle(page);
			await page.getByRole('button', { name: 'English' }).click();
			await expect.poll(() => page.locator('button.lang').textContent()).toBe('中文');
			await page.goto(`${server.url}/incidents/${redCase}`);
			await expect.poll(() => page.getByTestId('level-badge').textContent()).toBe('Red');
			expect(await page.getByTestId('case-status').textContent()).toBe('Accepted');
			const headings = await page.locator('h2').allTextContents();
			expect(headings.join('|')).toMatch(/Deadlines.*Responsible.*Sensor.*Timeline/);
			expect(await page.locator('.tel').first().textContent()).toMatch(/^Call /);
			expect(await page.locator('button.lang').textContent()).toBe('中文');
			const shanghai = (iso: string) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
			expect(await page.getByTestId('ack-due').textContent()).toContain(shanghai(inc.ack_due));
			// Nothing Chinese is left in the page's own words (names, titles and places are data, not interface).
			const chrome = await page.evaluate(() => {
				const texts: string[] = [];
				for (const el of document.querySelectorAll('h2, dt, .act, nav a, .badge, .status, .tel, .timeline b, [data-testid=sensor-chart] button')) {
					const copy = el.cloneNode(true) as HTMLElement;
					copy.querySelectorAll('.data').forEach((d) => d.remove());
					texts.push(copy.textContent ?? '');
				}
				return texts.join(' | ');
			});
			expect(chrome).not.toMatch(/[\u4e00-\u9fff]/);
			await page.getByTestId('sensor-chart').locator('canvas').waitFor({ timeout: 15_000 });
			await expect.poll(() => page.getByTestId('thresholds-legend').textContent()).toContain('warning level');
			expect(await page.getByTestId('thresholds-legend').textContent()).not.toMatch(/[\u4e00-\u9fff]/);
			await sleep(300);
			await saveScreenshot(page, 'case-page-en');

			await page.getByRole('button', { name: '中文' }).click();
			await expect.poll(() => page.getByTestId('level-badge').textContent()).toBe('红色');
			expect((await page.locator('h2').allTextContents()).join('|')).toContain('时限');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it("fits a cadre's phone: their villages only, map above, queue below", async () => {
		const { ctx, page, errors } = await openConsole(server, { user: 'cadre', viewport: { width: 390, height: 844 } });
		try {
			await expect.poll(() => renderedSensors(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
			const villages = await page.locator('.village-label').allTextContents();
			expect(villages).toContain('松林村');
			expect(villages.length).toBeLessThan(10);
			const canvas = (await page.locator('canvas.maplibregl-canvas').boundingBox())!;
			const panel = (await page.locator('aside.panel').boundingBox())!;
			expect(canvas.width).toBeGreaterThanOrEqual(380);
			expect(panel.y).toBeGreaterThanOrEqual(canvas.y + canvas.height - 1);
			expect(panel.x + panel.width).toBeLessThanOrEqual(390.5);
			await saveScreenshot(page, 'phone-cadre');
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});

	it('stays offline with no basemap configured: only the own-data basemap, no request leaves this server', async () => {
		const res = await fetch(server.url + '/login');
		const csp = res.headers.get('content-security-policy') ?? '';
		expect(csp).toMatch(/img-src 'self' data: blob:(;|$)/);
		expect(csp).toMatch(/connect-src 'self'(;|$)/);
		expect(res.headers.get('referrer-policy')).toBe('same-origin');

		const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const page = await ctx.newPage();
		const errors = collectPageErrors(page);
		const elsewhere: string[] = [];
		page.on('request', (r) => {
			if (!r.url().startsWith(server.url) && !/^(data|blob):/.test(r.url())) elsewhere.push(r.url());
		});
		try {
			await signIn(page, server, 'duty');
			await page.goto(server.url + '/');
			await mapIdle(page);
			expect(await page.getByTestId('basemap-switcher').locator('input[type=radio]').count()).toBe(1);
			expect(await page.getByTestId('basemap-switcher').textContent()).toContain('本地底图');
			expect(elsewhere).toEqual([]);
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});

describe('a configured XYZ basemap', () => {
	// A stand-in tile service on its own port (= its own origin): every tile is the same small pale-blue PNG.
	const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGPYceEFVsQwtCQA6EycAbPcP90AAAAASUVORK5CYII=', 'base64');
	let tiles: Server;
	let tilePort: number;
	const requested: string[] = [];
	let server: TestServer;
	beforeAll(async () => {
		tilePort = await freePort();
		tiles = createServer((req, res) => {
			requested.push(req.url ?? '');
			res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
			res.end(PNG);
		});
		await new Promise<void>((ok) => tiles.listen(tilePort, '127.0.0.1', ok));
		server = await startServer({ simulate: false, env: { BASEMAP_XYZ_URL: `http://127.0.0.1:${tilePort}/tiles/{z}/{x}/{y}.png`, BASEMAP_XYZ_NAME: '测试影像', BASEMAP_XYZ_ATTRIBUTION: '© 测试' } });
		return async () => {
			await server.dispose();
			await new Promise((ok) => tiles.close(ok));
		};
	});

	it('allows exactly its tile host in the CSP and draws its tiles when switched on', async () => {
		const res = await fetch(server.url + '/login');
		const csp = res.headers.get('content-security-policy') ?? '';
		const origin = `http://127.0.0.1:${tilePort}`;
		expect(csp).toContain(`img-src 'self' data: blob: ${origin}`);
		expect(csp).toContain(`connect-src 'self' ${origin}`);
		// Nothing else was widened.
		expect(csp.split(origin).length - 1).toBe(2);
		expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');

		const { ctx, page, errors } = await openConsole(server, { viewport: { width: 1280, height: 800 } });
		try {
			const switcher = page.getByTestId('basemap-switcher');
			expect(await switcher.locator('input[type=radio]').count()).toBe(2);
			expect(requested).toEqual([]); // nothing fetched before the user asks for it
			// The tile's colour, a place inside a village and a bare corner of the canvas (outside the township).
			const tile = await firstPixel(page, PNG);
			const inVillage = await villageSpot(page, server, '松林村');
			const box = (await page.locator('canvas.maplibregl-canvas').boundingBox())!;
			const corner = { x: box.x + 4, y: box.y + 4 };
			expect(await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.classList.contains('maplibregl-canvas'), [corner.x, corner.y])).toBe(true);
			expect(near(await pixel(page, corner), tile)).toBe(false);
			await switcher.getByText('测试影像').click();
			await expect.poll(() => requested.length, { timeout: 10_000 }).toBeGreaterThan(0);
			expect(requested.every((u) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(u))).toBe(true);
			await mapIdle(page);
			// The tiles are on screen where nothing else is drawn …
			await expect.poll(async () => near(await pixel(page, corner), tile), { timeout: 10_000 }).toBe(true);
			// … and lie under the data: the village's fill still tints them, and the sensors are still drawn.
			expect(near(await pixel(page, inVillage), tile)).toBe(false);
			expect(await renderedSensors(page)).toBeGreaterThanOrEqual(40);
			expect(await switcher.textContent()).toContain('© 测试');
			await saveScreenshot(page, 'console-xyz-basemap');

			// The choice is remembered on the device; switching back removes the raster layer.
			await page.reload();
			await mapIdle(page);
			await expect.poll(async () => near(await pixel(page, corner), tile), { timeout: 10_000 }).toBe(true);
			await page.getByTestId('basemap-switcher').getByText('本地底图').click();
			await expect.poll(async () => near(await pixel(page, corner), tile), { timeout: 10_000 }).toBe(false);
			expect(errors).toEqual([]);
		} finally {
			await ctx.close();
		}
	});
});
