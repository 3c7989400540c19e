// Formatting shared by the review pages: durations in the unit a reader thinks in, rates as percents.
import type { Lang } from './domain/labels';

const UNITS = { zh: { min: '分钟', h: '小时', d: '天' }, en: { min: 'min', h: 'h', d: 'd' } } as const;

/** 45 min · 3.5 h · 2.1 d; null → —. */
export function duration(ms: number | null, lang: Lang): string {
	if (ms === null) return '—';
	const u = UNITS[lang];
	const min = ms / 60_000;
	// Under an hour, a tenth of a minute decides on-time against a 10- or 30-minute limit: show it when not whole.
	if (min < 60) return `${Number.isInteger(Math.round(min * 10) / 10) ? Math.round(min) : min.toFixed(1)} ${u.min}`;
	if (min < 48 * 60) return `${(min / 60).toFixed(1)} ${u.h}`;
	return `${(min / 1440).toFixed(1)} ${u.d}`;
}

/** The period presets of the review pages: value of `p` in the query string, and its i18n key. */
export const PERIOD_PRESETS = [
	['7', 'rv_last7'],
	['30', 'rv_last30'],
	['90', 'rv_last90'],
	['this_month', 'rv_this_month'],
	['last_month', 'rv_last_month']
] as const;

export function percent(rate: number | null): string {
	return rate === null ? '—' : `${(rate * 100).toFixed(1)}%`;
}

const SHORT = { zh: { min: '分', h: '时', d: '天' }, en: { min: 'm', h: 'h', d: 'd' } } as const;

/** Compact histogram bin labels from lower edges (ms): "<5分", "5–10分" … "≥1天" (the axis is narrow). */
export function binLabels(edges: readonly number[], lang: Lang): string[] {
	const u = SHORT[lang];
	const short = (ms: number) => {
		const min = ms / 60_000;
		return min < 60 ? `${min}${u.min}` : min < 1440 ? `${min / 60}${u.h}` : `${min / 1440}${u.d}`;
	};
	return edges.map((e, i) => (i === edges.length - 1 ? `≥${short(e)}` : i === 0 ? `<${short(edges[1])}` : `${short(e)}–${short(edges[i + 1])}`));
}
