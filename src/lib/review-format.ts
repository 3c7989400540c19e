// Formatting shared by the review pages: durations in the unit a reader thinks in, rates as percents.
import type { Lang } from './i18n.svelte';

const UNITS = { zh: { min: '分钟', h: '小时', d: '天' }, en: { min: 'min', h: 'h', d: 'd' } } as const;

/** 45 min · 3.5 h · 2.1 d; null → —. */
export function duration(ms: number | null, lang: Lang): string {
	if (ms === null) return '—';
	const u = UNITS[lang];
	const min = ms / 60_000;
	if (min < 60) return `${Math.round(min)} ${u.min}`;
	if (min < 48 * 60) return `${(min / 60).toFixed(1)} ${u.h}`;
	return `${(min / 1440).toFixed(1)} ${u.d}`;
}

export function percent(rate: number | null): string {
	return rate === null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** Histogram bin labels from lower edges (ms): "<5 分钟", "5–10 分钟" … "≥24 小时". */
export function binLabels(edges: readonly number[], lang: Lang): string[] {
	const short = (ms: number) => duration(ms, lang).replace(/\.0 /, ' ');
	return edges.map((e, i) => (i === edges.length - 1 ? `≥${short(e)}` : i === 0 ? `<${short(edges[1])}` : `${short(e)}–${short(edges[i + 1])}`));
}
