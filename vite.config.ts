import { sveltekit } from '@sveltejs/kit/vite';
import { build, defineConfig, type Plugin } from 'vite';

/**
 * Worker-thread entries of the server, bundled by the server build into build-workers/<name>.js, one plain module
 * each with every package in node_modules left external — as vite.ingest.config.ts bundles the ingest service.
 * Not part of build/: adapter-node re-bundles the server from its entry points and drops modules they do not import,
 * and a worker entry is started by path (src/lib/server/platform/heavy-work.ts), never imported.
 */
function serverWorkers(entries: Record<string, string>): Plugin {
	let ssr = false;
	return {
		name: 'shudi:server-workers',
		apply: 'build',
		configResolved(config) {
			// SvelteKit builds the server first (build.ssr set), then the client with the same plugins.
			ssr = Boolean(config.build.ssr);
		},
		async closeBundle() {
			if (!ssr) return;
			await build({
				configFile: false,
				logLevel: 'warn',
				build: {
					ssr: true,
					outDir: 'build-workers',
					emptyOutDir: true,
					target: 'node20',
					minify: false,
					sourcemap: true,
					rollupOptions: { input: entries, output: { entryFileNames: '[name].js', format: 'es' } }
				}
			});
		}
	};
}

export default defineConfig({
	plugins: [sveltekit(), serverWorkers({ 'heavy-work': './src/lib/server/heavy-work-worker.ts' })],
	server: { port: 5173 },
	test: {
		include: ['tests/unit/**/*.spec.ts', 'tests/integration/**/*.spec.ts'],
		environment: 'node',
		// Integration tests each boot an embedded database; two cores, so keep parallelism modest.
		maxWorkers: 2,
		testTimeout: 60_000,
		hookTimeout: 120_000
	}
});
