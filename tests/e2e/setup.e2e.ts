// Setting up a real township as an admin does it in the browser: import a land-bureau Shapefile (CGCS2000 GK zone,
// GBK names), look at the preview and the report, confirm, and find the villages on the duty map; a file with
// problems shows them in plain words and cannot be saved. Needs `npm run build` first (npm run test:e2e does it).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, drawnStatus, drawnVillages, goToView, launchBrowser, mapIdle, readMap, renderedCount, saveScreenshot, screenPoint, sessionCookie, signIn, startServer, villageSpot, type TestServer } from './support';

let browser: Browser;
let server: TestServer;
let page: Page;
let errors: string[];
beforeAll(async () => {
	browser = await launchBrowser();
	server = await startServer({ simulate: false });
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
	page = await ctx.newPage();
	// A step that cannot happen should fail with its own message, well inside the test's time limit.
	page.setDefaultTimeout(15_000);
	errors = collectPageErrors(page);
	await signIn(page, server, 'admin');
	return async () => {
		await server.dispose();
		await browser.close();
	};
});
afterAll(() => undefined);

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/boundaries/${name}`, import.meta.url));

/** Names of the villages MapLibre has drawn on the duty map, as its description lists them. */
const villagesOnDutyMap = () => drawnVillages(page);

/** Where the API has a sensor. */
async function placeOf(id: string): Promise<[number, number] | null> {
	const res = await fetch(`${server.url}/api/v1/sensors`, { headers: { cookie: await sessionCookie(server, 'admin') } });
	const f = ((await res.json()) as { features: { geometry: { coordinates: [number, number] }; properties: { id: string } }[] }).features.find((x) => x.properties.id === id);
	return f ? f.geometry.coordinates : null;
}

describe('township setup in the browser', () => {
	it('a file with problems shows them in plain words and offers no save', async () => {
		await page.goto(`${server.url}/admin/villages`);
		await page.setInputFiles('[data-testid=boundary-file]', fixture('villages-problems.geojson'));
		await Promise.all([page.waitForURL(/import=\d+/), page.click('[data-testid=preview-button]')]);
		const report = await page.getByTestId('report').textContent();
		expect(report).toContain('重叠甲村（第1个） 与 重叠乙村（第2个） 重叠约');
		expect(report).toContain('的边界自相交');
		expect(report).toContain('没有村名');
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
		await mapIdle(page);
		await expect.poll(() => renderedCount(page, 'preview')).toBeGreaterThanOrEqual(3);
		expect((await readMap(page))!.items.filter((i) => i.data.preview).map((i) => i.data.preview)).toEqual(expect.arrayContaining(['东岭村', '西坡村', '南岗村']));
		await saveScreenshot(page, 'setup-import-preview');
		await page.click('[data-testid=confirm-import]');
		await expect.poll(() => page.getByTestId('import-saved').textContent()).toContain('新增 3 个村');

		await page.goto(`${server.url}/`);
		await mapIdle(page);
		await expect.poll(villagesOnDutyMap, { timeout: 20_000 }).toEqual(expect.arrayContaining(['东岭村', '西坡村', '南岗村', '松林村']));
		await saveScreenshot(page, 'setup-duty-map-with-imported-villages');
		expect(errors).toEqual([]);
	});

	it('adds a cadre and assigns them to an imported village; the timeline and the duty map show it', async () => {
		await page.goto(`${server.url}/admin/cadres`);
		await page.fill('[data-testid=cadre-name]', '测试干部');
		await page.fill('[data-testid=cadre-phone]', '13900000999');
		await Promise.all([page.waitForLoadState('networkidle'), page.click('[data-testid=cadre-create]')]);
		await expect.poll(() => page.locator('[data-testid=assign-cadre] option', { hasText: '测试干部' }).count()).toBe(1);
		await page.selectOption('[data-testid=assign-cadre]', { label: '测试干部 13900000999' });
		await page.selectOption('[data-testid=assign-village]', { label: '东岭村' });
		await page.click('[data-testid=assign-submit]');
		await expect.poll(() => page.getByTestId('assign-done').count()).toBe(1);
		const timeline = page.locator('[data-testid=timeline][data-village=东岭村]');
		await expect.poll(() => timeline.textContent()).toContain('测试干部');
		expect(await timeline.locator('li.current').textContent()).toContain('包村干部');
		await timeline.scrollIntoViewIfNeeded();
		await saveScreenshot(page, 'setup-cadre-assigned');

		// On the duty map, clicking 东岭村 lists the new cadre with a tel: link.
		await page.goto(`${server.url}/`);
		await mapIdle(page);
		const at = await villageSpot(page, server, '东岭村', 'admin');
		await page.mouse.click(at.x, at.y);
		await expect.poll(() => page.locator('a[href="tel:13900000999"]').count()).toBeGreaterThan(0);
	});

	it('registers a device by clicking its place on the map: token and QR shown once, device on the duty map', async () => {
		await page.goto(`${server.url}/admin/devices`);
		await mapIdle(page);
		const devicesBefore = await renderedCount(page, 'points');
		// Click where 西坡村 is on the admin map: just below its name, which is drawn inside it.
		const label = (await page.locator('.admin-map .label', { hasText: '西坡村' }).boundingBox())!;
		await page.mouse.click(label.x + label.width / 2, label.y + label.height + 12);
		await expect.poll(() => page.inputValue('[data-testid=device-lng]')).toMatch(/^107\.5[6-9]/);
		await page.fill('input[name=id]', 'RL-NEW1');
		await page.selectOption('select[name=kind]', 'river_level');
		await page.fill('input[name=name]', '西坡村水位站');
		await page.click('[data-testid=device-register]');
		await expect.poll(() => page.getByTestId('new-token').textContent()).toContain('RL-NEW1');
		expect(await page.getByTestId('installer-qr').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
		expect(await page.locator('tr', { hasText: 'RL-NEW1' }).textContent()).toContain('西坡村');
		await expect.poll(() => renderedCount(page, 'points')).toBe(devicesBefore + 1);
		expect((await readMap(page))!.items.some((i) => i.data.id === 'RL-NEW1')).toBe(true);
		await saveScreenshot(page, 'setup-device-registered');

		await page.goto(`${server.url}/`);
		await mapIdle(page);
		// Zoomed out, sensors are drawn as clusters: go to the new device, where it is drawn as its own symbol.
		const where = await placeOf('RL-NEW1');
		expect(where, 'RL-NEW1 is in the duty map\'s sensors').not.toBeNull();
		await goToView(page, where!, 15);
		await expect.poll(() => drawnStatus(page, 'RL-NEW1'), { timeout: 20_000 }).not.toBeNull();
		await saveScreenshot(page, 'setup-duty-map-with-new-device');
		expect(errors).toEqual([]);
	});

	it('draws a new village against 西坡村: clicks a few pixels off its corners snap onto them, so no overlap is reported', async () => {
		// Zoom to 西坡村's east edge so a few pixels are metres, not a hundred metres: a link to that view.
		await page.goto(`${server.url}/admin/villages/draw#14/26.4975/107.6`);
		await page.waitForSelector('body[data-ready]');
		await expect.poll(() => page.getByTestId('draw-corners').textContent()).toContain('已画 0 个点');
		const box = { x: 0, y: 0 };
		const px = (lng: number, lat: number) => screenPoint(page, [lng, lat], '.draw-canvas canvas');
		// 西坡村's east corners, clicked 5 px inside it (west): unsnapped, the new village would overlap it by ~5 px.
		const corners: [number, number, number][] = [
			[107.595, 26.49, -5],
			[107.61, 26.49, 0],
			[107.61, 26.505, 0],
			[107.595, 26.505, -5]
		];
		for (const [i, [lng, lat, dx]] of corners.entries()) {
			const p = await px(lng, lat);
			await page.mouse.move(box.x + p.x + dx, box.y + p.y);
			await page.mouse.click(box.x + p.x + dx, box.y + p.y);
			// The editor confirms each corner it took.
			await expect.poll(() => page.getByTestId('draw-corners').textContent()).toContain(`已画 ${i + 1} 个点`);
		}
		// Close the ring on the first point.
		const first = await px(107.595, 26.49);
		await page.mouse.move(box.x + first.x, box.y + first.y);
		await page.mouse.click(box.x + first.x, box.y + first.y);
		await expect.poll(() => page.getByTestId('draw-save').isEnabled()).toBe(true);
		await expect.poll(() => page.getByTestId('draw-corners').textContent()).toContain('边界共 4 个顶点');
		await saveScreenshot(page, 'setup-draw-boundary');
		await page.fill('[data-testid=draw-name]', '北新村');
		await Promise.all([page.waitForURL(/import=\d+/), page.click('[data-testid=draw-save]')]);
		expect(await page.getByTestId('preview').textContent()).toContain('北新村');
		expect(await page.getByTestId('report-summary').textContent()).toContain('0 个错误，0 个提醒');
		await page.click('[data-testid=confirm-import]');
		await expect.poll(() => page.getByTestId('import-saved').textContent()).toContain('新增 1 个村');
		expect(errors).toEqual([]);
	});

	it('imports cadres (GBK CSV) and a roster month (XLSX); the calendar shows them; a bad file names its rows', async () => {
		const people = (name: string) => fileURLToPath(new URL(`../fixtures/people/${name}`, import.meta.url));
		await page.goto(`${server.url}/admin/cadres`);
		await page.setInputFiles('[data-testid=people-file]', people('cadres-gbk.csv'));
		await page.click('[data-testid=people-import]');
		await expect.poll(() => page.getByTestId('import-done').textContent()).toContain('新增 3');
		await page.check('input[name=kind][value=assignments]');
		await page.setInputFiles('[data-testid=people-file]', people('assignments-bad.csv'));
		await page.click('[data-testid=people-import]');
		await expect.poll(() => page.getByTestId('row-errors').textContent()).toContain('第 3 行');
		const rowErrors = (await page.getByTestId('row-errors').textContent()) ?? '';
		expect(rowErrors).toContain('<script>alert(1)</script>');
		expect(rowErrors).toContain('村长助理');
		expect(errors).toEqual([expect.stringMatching(/status of 400/)]);
		errors.length = 0;
		await saveScreenshot(page, 'setup-people-import-row-errors');

		await page.goto(`${server.url}/admin/roster?month=2026-12`);
		await page.setInputFiles('input[type=file]', people('roster.xlsx'));
		await page.click('form.import button');
		const dec1 = page.locator('[data-testid=roster-calendar] td', { hasText: /^\s*1\s*员/ }).first();
		await expect.poll(() => dec1.textContent(), { timeout: 10_000 }).toContain('李秀英');
		expect(await dec1.textContent()).toContain('王建国');
		await saveScreenshot(page, 'setup-roster-calendar');
	});

	it('a device page shows each threshold beside its default and source, and holds alarms in a maintenance window', async () => {
		await page.goto(`${server.url}/admin/devices/RL-NEW1`);
		const rows = page.locator('[data-testid=thresholds] tr', { hasText: 'rise_per_15min_m' });
		expect(await rows.textContent()).toContain('0.3');
		expect(await rows.textContent()).toContain('shudi default');
		await page.fill('input[name="t.warning_level_m"]', '3.4');
		await page.click('form[action="?/thresholds"] button');
		await expect.poll(() => page.getByTestId('saved').count()).toBe(1);
		await page.fill('input[name=starts_at]', '2026-01-01T08:00');
		await page.fill('input[name=ends_at]', '2030-01-01T08:00');
		await page.fill('form[action="?/maintenance"] input[name=reason]', '安装调试');
		await page.click('form[action="?/maintenance"] button');
		await expect.poll(() => page.getByTestId('device-history').textContent()).toContain('安排维护');
		expect(await page.getByTestId('device-history').textContent()).toContain('阈值修改');
		expect(await page.locator('[data-testid=thresholds] tr', { hasText: 'warning_level_m' }).textContent()).toMatch(/本设备设置.*SL 651-2014/);
		await mapIdle(page);
		await expect.poll(() => renderedCount(page, 'points')).toBe(1);
		await saveScreenshot(page, 'setup-device-page');
		await page.goto(`${server.url}/`);
		await mapIdle(page);
		await goToView(page, (await placeOf('RL-NEW1'))!, 15);
		await expect.poll(() => drawnStatus(page, 'RL-NEW1')).toBe('maintenance');
		expect(errors).toEqual([]);
	});
	it('the admin pages switch language with the console\'s switch: Chinese by default, one language at a time, kept on the device', async () => {
		await page.goto(`${server.url}/admin/roster?month=2026-12`);
		await page.waitForSelector('body[data-ready]');
		const h1 = page.locator('h1');
		expect(await h1.textContent()).toContain('值班表');
		expect(await h1.textContent()).not.toContain('Duty roster');
		expect(await page.locator('nav').textContent()).not.toContain('Dead letters');
		await saveScreenshot(page, 'admin-roster-zh');

		await page.getByTestId('lang-switch').click();
		await expect.poll(() => h1.textContent()).toContain('Duty roster');
		expect(await h1.textContent()).not.toContain('值班表');
		expect(await page.locator('nav').textContent()).toContain('Dead letters');
		expect(await page.locator('nav').textContent()).not.toContain('死信');
		expect(await page.locator('[data-testid=roster-calendar] thead').textContent()).toContain('Mon');
		await saveScreenshot(page, 'admin-roster-en');

		// The choice is kept on the device: the next admin page opens in English, and the switch turns it back.
		await page.goto(`${server.url}/admin/devices/RL-NEW1`);
		await page.waitForSelector('body[data-ready]');
		await expect.poll(() => page.locator('h2').first().textContent()).toBe('Position');
		expect(await page.getByTestId('device-history').textContent()).toContain('thresholds changed');
		await page.getByTestId('lang-switch').click();
		await expect.poll(() => page.locator('h2').first().textContent()).toBe('位置');
		expect(await page.getByTestId('device-history').textContent()).toContain('阈值修改');
		expect(errors).toEqual([]);
	});
});
