// Driving Debian's Chromium through playwright-core for browser tests and benchmarks: launch it with software GL,
// collect page errors, save screenshots for people to look at. Nothing here knows the app.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './server';

/** Headless Debian Chromium (or CHROMIUM_PATH), software GL so MapLibre renders without a GPU. */
export async function launchBrowser(): Promise<Browser> {
	const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
	if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install chromium or set CHROMIUM_PATH`);
	return chromium.launch({
		executablePath,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
			'--use-gl=swiftshader',
			'--enable-unsafe-swiftshader'
		]
	});
}

/** Uncaught page exceptions and console errors, gathered from the moment this is called. */
export function collectPageErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack ?? err.message}`));
	page.on('console', (msg) => {
		if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
	});
	return errors;
}

/** Writes artifacts/screenshots/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
	const dir = join(ROOT, 'artifacts', 'screenshots');
	await mkdir(dir, { recursive: true });
	const path = join(dir, `${name}.png`);
	await page.screenshot({ path });
	return path;
}
