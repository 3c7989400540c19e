// The standalone ingest worker (`npm run start:ingest`) as one plain JavaScript module: `vite build --config
// vite.ingest.config.ts` bundles ingest/main.ts and the server code it uses into build-ingest/main.js, leaving every
// package in node_modules external. Run under node directly, the worker carries no TypeScript loader: no second V8
// heap for tsx's module hooks, no helper calls compiled into each closure (BENCHMARKS.md, session 6).
import { defineConfig } from 'vite';

export default defineConfig({
	// No plugins: this is not the SvelteKit app (that build is `vite.config.ts`).
	configFile: false,
	logLevel: 'warn',
	build: {
		ssr: 'ingest/main.ts',
		outDir: 'build-ingest',
		emptyOutDir: true,
		target: 'node20',
		minify: false,
		sourcemap: true,
		rollupOptions: { output: { entryFileNames: 'main.js', format: 'es' } }
	}
});
