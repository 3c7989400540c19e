// Horizontal threshold lines for a sensor chart: the effective thresholds (rules.ts effectiveThresholds) that can be
// drawn in the chart's own unit. Pure. A rule judged on something other than the plotted value — a rise over 15 min,
// a rolling rain sum, a settlement or displacement rate — has no horizontal line on that chart and is left out rather
// than drawn somewhere misleading.
import { effectiveThresholds } from './rules.js';
import type { Level, SensorKind } from './types.js';
import { LEVELS, LEVEL_SHORT_NAMES } from './levels.js';

export interface ThresholdLine {
	level: Level;
	/** In the metric's unit. */
	value: number;
	/** Short label for the legend in each interface language. */
	label: { zh: string; en: string };
}

const DEG = 180 / Math.PI;

function num(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function thresholdLines(
	kind: SensorKind,
	metric: string,
	thresholds: Record<string, unknown> | null | undefined,
	baseline: Record<string, unknown> | null | undefined
): ThresholdLine[] {
	const eff = new Map(effectiveThresholds(kind, thresholds).map((t) => [t.path, t.value]));
	const at = (path: string) => eff.get(path) ?? null;
	const out: ThresholdLine[] = [];
	const push = (level: Level, value: number | null, zh: string, en: string) => {
		if (value !== null && Number.isFinite(value)) out.push({ level, value, label: { zh, en } });
	};
	if (kind === 'river_level' && metric === 'water_level_m') {
		// DOMAIN.md: 警戒水位 → orange, 保证水位 → red, both per station.
		push('orange', at('warning_level_m'), '警戒水位', 'warning level');
		push('red', at('guarantee_level_m'), '保证水位', 'guarantee level');
	} else if (kind === 'crack' && metric === 'crack_mm') {
		// The rule judges |width − baseline|; cracks open far more often than they close, so the lines are drawn on the
		// opening side only (a closing crack still alarms, the chart just does not draw that side).
		const base = num(baseline?.crack_mm);
		if (base !== undefined) for (const l of ['yellow', 'orange', 'red'] as const) {
			const c = at(`change_mm.${l}`);
			if (c !== null) push(l, base + c, `基准+${c} mm`, `baseline+${c} mm`);
		}
	} else if (kind === 'house_tilt' && (metric === 'tilt_x_deg' || metric === 'tilt_y_deg')) {
		// tilt % = tan θ × 100 of the resultant change; on one axis alone (the other at its baseline) that is
		// θ = atan(pct / 100). The line is where this axis alone reaches the level — the resultant can reach it earlier.
		const base = num(baseline?.[metric]);
		if (base !== undefined) for (const l of LEVELS) {
			const pct = at(`tilt_pct.${l}`);
			if (pct !== null) push(l, base + Math.atan(pct / 100) * DEG, `单轴 ${pct}%`, `single-axis ${pct}%`);
		}
	} else if (kind === 'soil_moisture' && metric === 'soil_moisture_pct') {
		for (const l of ['yellow', 'orange', 'red'] as const) push(l, at(`pct.${l}`), `${LEVEL_SHORT_NAMES[l].zh} ${at(`pct.${l}`)}%`, `${l} ${at(`pct.${l}`)}%`);
	} else if (metric === 'battery_v') {
		push('blue', at('battery.low_v'), '电量低', 'low battery');
	} else if (metric === 'battery_pct') {
		push('blue', at('battery.low_pct'), '电量低', 'low battery');
	}
	return out;
}

/**
 * Which alarms belong on a metric's chart: the battery rule on battery charts, every other rule on the kind's own
 * measurement, none on radio or temperature charts (a battery alarm is not a water-level event).
 */
export function alarmRulesShown(metric: string, kindMetrics: readonly string[]): 'battery' | 'measurement' | 'none' {
	if (metric === 'battery_v' || metric === 'battery_pct') return 'battery';
	return kindMetrics.includes(metric) ? 'measurement' : 'none';
}
