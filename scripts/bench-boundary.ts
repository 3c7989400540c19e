// Self-intersection check of one village boundary: the segment index (geo/self-intersections, flatbush) against the
// all-pairs baseline (@turf/kinks, which the report used before). Prints the median of a few runs at 2k, 16k, 100k
// and 1M vertices; the baseline runs up to 16k (with --slow also once at 100k, about 40 s) and is extrapolated by n²
// beyond, where one run would take minutes to hours.
//   npm run bench:boundary            (add -- --runs 7 for more runs)
import kinks from '@turf/kinks';
import type { Polygon } from 'geojson';
import { selfIntersections } from '../geo/self-intersections';
import { wavyRing } from './lib/boundary-shapes';

let lastOld = 0;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(fn: () => unknown, times: number): number {
	const out: number[] = [];
	for (let i = 0; i < times; i++) {
		const t0 = performance.now();
		fn();
		out.push(performance.now() - t0);
	}
	return median(out);
}

console.log(`self-intersection check, median of ${runs} runs`);
console.log('vertices    @turf/kinks (all pairs)    segment index (flatbush)    speed-up');
for (const n of [2_000, 16_000, 100_000, 1_000_000]) {
	const g: Polygon = { type: 'Polygon', coordinates: [wavyRing(107.5, 26.5, 0.02, n)] };
	const fresh = time(() => selfIntersections(g), runs);
	// 100k vertices is ~40× the 16k time for kinks (~2 min on a 2-core box); 1M would be hours.
	const old = n <= 16_000 ? time(() => kinks(g), runs) : n <= 100_000 && process.argv.includes('--slow') ? time(() => kinks(g), 1) : NaN;
	const oldText = Number.isNaN(old) ? `not run (≈ ${Math.round(((n / 16_000) ** 2 * lastOld) / 1000)} s by n²)` : `${old.toFixed(0)} ms`;
	if (!Number.isNaN(old)) lastOld = old;
	console.log(`${String(n).padStart(9)}    ${oldText.padEnd(27)}${(fresh.toFixed(0) + ' ms').padEnd(28)}${Number.isNaN(old) ? '' : (old / fresh).toFixed(0) + '×'}`);
}

