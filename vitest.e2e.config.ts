// Browser (e2e) tier: drives the built app (`build/`, from `npm run build`) with Debian's Chromium through
// playwright-core. Plain vitest config, not the SvelteKit plugin: these tests never import app code, they talk to a
// running server over HTTP, MQTT and a real browser. One file at a time: each file boots its own server and browser,
// and the machine has two cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		include: ['tests/e2e/**/*.e2e.ts'],
		environment: 'node',
		testTimeout: 60_000,
		hookTimeout: 120_000,
		fileParallelism: false
	}
});
