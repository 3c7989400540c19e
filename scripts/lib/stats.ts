// Small statistics and table helpers shared by the bench scripts (bench:queries, bench:map, bench:ingest).
import { loadavg } from 'node:os';

/** The value at index ⌊n·q⌋ of the sorted values: of an even count, the upper median (bench:queries, bench:map). */
export function quantile(xs: number[], q: number): number {
	if (!xs.length) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor(s.length * q))];
}

/**
 * The nearest-rank quantile, the value of rank ⌈n·q⌉: of an even count, the lower median; of 100 commit latencies, p99 is
 * the 99th and not the largest (bench:ingest, whose published figures are computed this way).
 */
export function nearestRank(xs: number[], q: number): number {
	if (!xs.length) return NaN;
	const s = [...xs].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export const median = (xs: number[]) => quantile(xs, 0.5);
export const p90 = (xs: number[]) => quantile(xs, 0.9);

export const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export interface Row {
	figure: string;
	app: number[];
	baseline: number[];
	/** Target for the app's median, ms; absent for informational rows. */
	target?: number;
}

/** Prints one line per figure: app median / p90, baseline median / p90, ratio of medians, target and verdict. */
export function printTable(rows: Row[]): void {
	const head = ['figure', 'app median / p90 ms', 'baseline median / p90 ms', 'app ÷ baseline', 'target', ''];
	const lines = rows.map((r) => {
		const a = median(r.app);
		const b = median(r.baseline);
		return [
			r.figure,
			r.app.length ? `${fmtMs(a)} / ${fmtMs(p90(r.app))}` : '—',
			r.baseline.length ? `${fmtMs(b)} / ${fmtMs(p90(r.baseline))}` : '—',
			r.baseline.length && r.app.length ? `${(a / b).toFixed(2)}×` : '—',
			r.target === undefined ? '' : `≤ ${r.target} ms`,
			r.target === undefined || !r.app.length ? '' : a <= r.target ? 'PASS' : 'MISS'
		];
	});
	const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
	const out = (cells: string[]) => console.log(cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
	out(head);
	for (const l of lines) out(l);
}

/** The machine's 1-minute load average: the benches share two cores with other work, so every run says how busy. */
export const load = () => `load average ${loadavg()[0].toFixed(1)}`;
