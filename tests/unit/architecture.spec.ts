// The house's one-way doors (docs/architecture.md), read from the import statements themselves: a change that adds an
// import against the grain fails here, naming the file and the import.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ALIASES: Record<string, string> = { $lib: 'src/lib', $geo: 'geo' };

function files(dir: string): string[] {
	const out: string[] = [];
	for (const e of readdirSync(join(ROOT, dir))) {
		const p = join(dir, e);
		if (statSync(join(ROOT, p)).isDirectory()) out.push(...files(p));
		else if (/\.(ts|mjs|svelte)$/.test(e)) out.push(p);
	}
	return out;
}

/** Every module a file imports, as a project-relative path (packages as their bare name). */
function imports(file: string): string[] {
	const text = readFileSync(join(ROOT, file), 'utf8');
	const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
	return specs.map((s) => {
		for (const [alias, base] of Object.entries(ALIASES)) if (s === alias || s.startsWith(`${alias}/`)) return (base + s.slice(alias.length)).replace(/\.(js|ts)$/, '');
		return s.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.(js|ts)$/, '') : s;
	});
}

/** [file, import] pairs where the file is under `from` and the import under one of `to`. */
function crossings(from: string, to: string[], except: (file: string) => boolean = () => false): string[] {
	return files(from)
		.filter((f) => !except(f))
		.flatMap((f) => imports(f).filter((i) => to.some((t) => i === t || i.startsWith(`${t}/`))).map((i) => `${f} → ${i}`));
}

const ROOMS = ['cases', 'devices', 'live', 'map', 'notify', 'people', 'review', 'demo'].map((r) => `src/lib/server/${r}`);

describe('imports run one way', () => {
	it('geo/ and src/lib/domain/ are pure: no server code, ingest, database, broker, DOM or map library', () => {
		const impure = ['src/lib/server', 'ingest', 'pg', 'mqtt', 'aedes', 'maplibre-gl', '@electric-sql/pglite', 'svelte'];
		expect([...crossings('geo', impure), ...crossings('src/lib/domain', impure)]).toEqual([]);
	});

	it('nothing in src/lib/server/ imports from ingest/ but runtime.ts, the one place that wires the processes together', () => {
		expect(crossings('src/lib/server', ['ingest'], (f) => f === 'src/lib/server/runtime.ts')).toEqual([]);
	});

	it('platform/ imports no room: every room may lean on it, never the reverse', () => {
		expect(crossings('src/lib/server/platform', [...ROOMS, 'src/lib/server/runtime'])).toEqual([]);
	});

	it('no room reaches for runtime.ts: routes and entry points wire, rooms are handed what they need', () => {
		expect(ROOMS.flatMap((r) => crossings(r, ['src/lib/server/runtime']))).toEqual([]);
	});

	it('the web and ingest rooms each stay under a dozen files', () => {
		const flat = (dir: string) => readdirSync(join(ROOT, dir)).filter((e) => !statSync(join(ROOT, dir, e)).isDirectory());
		for (const dir of ['src/lib/server', ...ROOMS, 'src/lib/server/platform']) expect(flat(dir).length, dir).toBeLessThanOrEqual(14);
	});

	it('no test imports a benchmark script: the harness they share lives in scripts/lib/ or tests/support/', () => {
		const benchScripts = readdirSync(join(ROOT, 'scripts'))
			.filter((e) => /^bench-.*\.ts$/.test(e))
			.map((e) => `scripts/${e.replace(/\.ts$/, '')}`);
		expect(benchScripts).toContain('scripts/bench-ingest');
		expect(crossings('tests', benchScripts)).toEqual([]);
		// The parser sees the tests' own imports of the harness.
		expect(imports('tests/integration/bench-publisher.spec.ts')).toContain('scripts/lib/publisher');
	});

	it('scripts take their shared harness from tests/support/, never from the browser tests in tests/e2e/', () => {
		expect(crossings('scripts', ['tests/e2e'])).toEqual([]);
		expect(imports('scripts/bench-map.ts')).toContain('tests/support/server');
	});

	it('the check itself sees imports (a guard against a parser that finds nothing)', () => {
		expect(imports('src/lib/server/runtime.ts')).toContain('ingest/writer');
		expect(imports('src/lib/server/runtime.ts')).toContain('src/lib/server/platform/db');
	});
});
