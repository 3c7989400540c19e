// Browser-tier helpers for shudi's pages: signing in, and reading the maps as a user does. A map is read through
// what the page offers everyone: the map's description for assistive technology (MapSummary.svelte: what MapLibre
// rendered in the view, item by item), the view in the address (#zoom/lat/lng), and positions on screen worked out
// from that view and the canvas's box, where a person's eye would find a symbol. The app-agnostic pieces (server,
// browser) live in tests/support/ and are re-exported here.
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { sessionCookie, sleep } from '../support/server';

export { ROOT, freePort, startServer, sessionCookie, sleep, type TestServer, type StartOptions } from '../support/server';
export { launchBrowser, collectPageErrors, saveScreenshot } from '../support/browser';

type LngLat = [number, number];

/** One thing the map's description lists, with its data attributes (without `data-`). */
export interface MapItem {
	text: string;
	data: Record<string, string>;
}
/** The map's description: its sentence, its figures per layer, and its items. */
export interface MapReading {
	busy: boolean;
	text: string;
	figures: Record<string, number>;
	items: MapItem[];
}

/** Reads the description of the page's `index`-th map (the console has one). */
export async function readMap(page: Page, index = 0): Promise<MapReading | null> {
	return page.evaluate((i) => {
		const region = document.querySelectorAll<HTMLElement>('[data-testid=map-summary]')[i];
		if (!region) return null;
		const figures: Record<string, number> = {};
		for (const [k, v] of Object.entries(region.dataset)) if (k !== 'testid') figures[k] = Number(v);
		return {
			busy: region.getAttribute('aria-busy') === 'true',
			text: region.querySelector('[role=status]')?.textContent ?? '',
			figures,
			items: [...region.querySelectorAll<HTMLElement>('li')].map((li) => ({ text: li.textContent ?? '', data: { ...li.dataset } as Record<string, string> }))
		};
	}, index);
}

/** A figure of the map's description (villages, sensors, singles, clusters, cases, rivers, township; preview, points). */
export async function renderedCount(page: Page, what: string, index = 0): Promise<number> {
	return (await readMap(page, index))?.figures[what] ?? 0;
}

/** How many sensors the console map shows in the view: single symbols plus the sensors inside drawn clusters. */
export async function renderedSensors(page: Page): Promise<number> {
	return renderedCount(page, 'sensors');
}

/** Names of the villages drawn in the view. */
export async function drawnVillages(page: Page): Promise<string[]> {
	return ((await readMap(page))?.items ?? []).filter((i) => i.data.village).map((i) => i.data.village);
}

/** The status a sensor is painted with when it is drawn as its own symbol, else null. */
export async function drawnStatus(page: Page, id: string): Promise<string | null> {
	return ((await readMap(page))?.items ?? []).find((i) => i.data.sensor === id)?.data.status ?? null;
}

/** The drawn cluster a sensor is in: its size, worst status and members' ids, or null. */
export async function drawnClusterOf(page: Page, id: string): Promise<{ count: number; worst: string; members: string[] } | null> {
	const item = ((await readMap(page))?.items ?? []).find((i) => i.data.cluster && (i.data.members ?? '').split(' ').includes(id));
	return item ? { count: Number(item.data.cluster), worst: item.data.worst, members: item.data.members.split(' ') } : null;
}

/** Resolves once the page's map has settled: sensors listed (console), nothing moving or loading, description current. */
export async function mapIdle(page: Page, index = 0): Promise<void> {
	// The console reads its sensors after the page has loaded and shows a notice until they are in.
	await page.waitForFunction(() => !document.querySelector('[data-testid="sensors-loading"]'), undefined, { timeout: 30_000 });
	await page.waitForFunction(
		(i) => {
			const region = document.querySelectorAll('[data-testid=map-summary]')[i];
			return !!region && region.getAttribute('aria-busy') === 'false' && !!region.querySelector('[role=status]')?.textContent;
		},
		index,
		{ timeout: 30_000 }
	);
}

/** The view the address shows (MapLibre keeps it as #zoom/lat/lng). */
export async function viewOf(page: Page): Promise<{ zoom: number; center: LngLat }> {
	const hash = new URL(page.url()).hash;
	const [zoom, lat, lng] = hash.slice(1).split('/').map(Number);
	if (![zoom, lat, lng].every(Number.isFinite)) throw new Error(`no map view in the address: ${page.url()}`);
	return { zoom, center: [lng, lat] };
}

/** Goes to a view as a link would (#zoom/lat/lng) and waits until the map has settled there. */
export async function goToView(page: Page, center: LngLat, zoom: number): Promise<void> {
	await page.evaluate(
		([z, lat, lng]) =>
			new Promise<void>((done) => {
				const target = `#${z}/${lat}/${lng}`;
				if (location.hash === target) return done();
				// After MapLibre's own hashchange listener has moved the map (it starts the map's busy state).
				addEventListener('hashchange', () => requestAnimationFrame(() => done()), { once: true });
				location.hash = target;
			}),
		[zoom, center[1], center[0]]
	);
	await mapIdle(page);
}

const mercX = (lng: number) => (180 + lng) / 360;
const mercY = (lat: number) => (180 - (180 / Math.PI) * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))) / 360;

/**
 * Where a place is on the page: Web Mercator with MapLibre's 512-pixel world at zoom 0, north up, from the view in
 * the address and the canvas's box.
 */
export async function screenPoint(page: Page, at: LngLat, canvas = 'canvas.maplibregl-canvas'): Promise<{ x: number; y: number }> {
	const { zoom, center } = await viewOf(page);
	const box = (await page.locator(canvas).boundingBox())!;
	const world = 512 * 2 ** zoom;
	return { x: box.x + box.width / 2 + (mercX(at[0]) - mercX(center[0])) * world, y: box.y + box.height / 2 + (mercY(at[1]) - mercY(center[1])) * world };
}

/** Where supercluster puts a cluster of these points: the mean of their projected positions. */
export function clusterCentre(points: LngLat[]): LngLat {
	const x = points.reduce((a, p) => a + mercX(p[0]), 0) / points.length;
	const y = points.reduce((a, p) => a + mercY(p[1]), 0) / points.length;
	return [x * 360 - 180, (360 / Math.PI) * Math.atan(Math.exp(((180 - y * 360) * Math.PI) / 180)) - 90];
}

/**
 * A spot to click on the console map inside a village: near its label (which is drawn inside it), on the bare
 * canvas, and clear of every sensor and case symbol (their places from the API, on screen through the view).
 */
export async function villageSpot(page: Page, server: { url: string }, village: string, user = 'duty'): Promise<{ x: number; y: number }> {
	const cookie = await sessionCookie(server, user);
	const sensors = (await (await fetch(`${server.url}/api/v1/sensors`, { headers: { cookie } })).json()) as { features: { geometry: { coordinates: LngLat } }[] };
	const cases = (await (await fetch(`${server.url}/api/v1/incidents?status=open&limit=500`, { headers: { cookie } })).json()) as { items: { lng: number | null; lat: number | null }[] };
	const places: LngLat[] = [...sensors.features.map((f) => f.geometry.coordinates), ...cases.items.filter((c) => c.lng !== null && c.lat !== null).map((c) => [c.lng!, c.lat!] as LngLat)];
	const taken = await Promise.all(places.map((p) => screenPoint(page, p)));
	const label = (await page.locator('.village-label', { hasText: village }).first().boundingBox())!;
	const [cx, cy] = [label.x + label.width / 2, label.y + label.height / 2];
	for (let r = 16; r <= 120; r += 8)
		for (let a = 0; a < 360; a += 30) {
			const x = cx + r * Math.cos((a * Math.PI) / 180);
			const y = cy + r * Math.sin((a * Math.PI) / 180);
			if (taken.some((p) => Math.hypot(p.x - x, p.y - y) < 60)) continue;
			const bare = await page.evaluate(([px, py]) => document.elementFromPoint(px, py)?.classList.contains('maplibregl-canvas') ?? false, [x, y]);
			if (bare) return { x, y };
		}
	throw new Error(`no free spot near the label of ${village}`);
}

/** Signs a browser page in through the login form, as a person would. */
export async function signIn(page: Page, server: { url: string }, username = 'duty', password = 'shudi-demo'): Promise<void> {
	// After the scripts have loaded and the page is hydrated, as a person who waits for the page would.
	await page.goto(`${server.url}/login`, { waitUntil: 'networkidle' });
	await page.fill('input[name=username]', username);
	await page.fill('input[name=password]', password);
	try {
		await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
	} catch (err) {
		// Say what the page showed: a refused login and a slow server look alike from a timeout alone.
		const alert = await page.locator('[role=alert]').allTextContents().catch(() => []);
		const typed = await page.inputValue('input[name=username]').catch(() => '?');
		throw new Error(`sign-in as ${username} did not leave ${page.url()} (alert: ${JSON.stringify(alert)}, user name field: ${JSON.stringify(typed)}): ${(err as Error).message}`);
	}
}

/**
 * Opens the sensor standing at the centre of the console's first view as a user does: zooms in there with the
 * mouse wheel until it is drawn alone, then clicks it until its panel names it. Returns the panel.
 */
export async function openSensorAtCentre(page: Page, id: string): Promise<Locator> {
	const box = (await page.locator('canvas.maplibregl-canvas').boundingBox())!;
	const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
	await page.mouse.move(centre.x, centre.y);
	for (let i = 0; i < 12; i++) {
		await page.mouse.wheel(0, -400);
		await sleep(150);
	}
	await sleep(1500);
	const panel = page.getByTestId('sensor-panel');
	await expect
		.poll(
			async () => {
				await page.mouse.click(centre.x, centre.y);
				await sleep(300);
				return panel.textContent();
			},
			{ timeout: 15_000, interval: 500 }
		)
		.toContain(id);
	return panel;
}

/** The centre of the villages' bounding box: where the console's first view is centred (TownshipMap fits it). */
export async function viewCentre(server: { url: string }): Promise<LngLat> {
	const res = await fetch(server.url + '/api/v1/villages', { headers: { cookie: await sessionCookie(server, 'duty') } });
	expect(res.status).toBe(200);
	const v = (await res.json()) as GeoJSON.FeatureCollection<GeoJSON.Polygon | GeoJSON.MultiPolygon>;
	const pts = v.features.flatMap((f) => (f.geometry.type === 'Polygon' ? f.geometry.coordinates.flat() : f.geometry.coordinates.flat(2)));
	const xs = pts.map((p) => p[0]);
	const ys = pts.map((p) => p[1]);
	return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

/**
 * Registers a river gauge through the admin devices page at the centre of the console's first view, as an admin
 * does (the page must be signed in as admin); returns the token the page shows once.
 */
export async function registerGaugeAtCentre(page: Page, server: { url: string }, id: string, name: string): Promise<string> {
	const [lng, lat] = await viewCentre(server);
	await page.goto(server.url + '/admin/devices', { waitUntil: 'networkidle' });
	await page.fill('form.add input[name=id]', id);
	await page.selectOption('form.add select[name=kind]', 'river_level');
	await page.fill('form.add input[name=name]', name);
	await page.fill('form.add input[name=lng]', String(lng));
	await page.fill('form.add input[name=lat]', String(lat));
	await page.fill('form.add input[name=interval_s]', '600');
	await page.getByTestId('device-register').click();
	const token = (await page.getByTestId('new-token').locator('b').textContent({ timeout: 15_000 }))!.trim();
	expect(token.length).toBeGreaterThan(20);
	return token;
}
