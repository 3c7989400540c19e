// Metric catalogue: units and physical ranges. A value outside its physical range is a broken sensor or a corrupted
// payload, never a real observation, so ingest rejects it before it can raise an alarm. Each kind's own metrics are
// declared with the kind in the sensor-kind catalogue (sensor-kinds.ts); the health metrics every kind may send are
// declared there too. This module is the flat view of both.
import { CATALOGUE, HEALTH_METRICS, SENSOR_KINDS, type MetricDef } from './sensor-kinds.js';

export type { MetricDef };
export { SENSOR_KINDS };

export const METRICS: Readonly<Record<string, MetricDef>> = Object.freeze(
	Object.assign({}, ...SENSOR_KINDS.map((k) => CATALOGUE[k].metrics), HEALTH_METRICS) as Record<string, MetricDef>
);

export function isKnownMetric(name: string): boolean {
	return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/**
 * Metrics each sensor kind reports as its measurement, primary metric first (health metrics may come from any kind).
 * Only these can make a sensor normal (DOMAIN.md "Only a recent measurement … can make a sensor normal").
 */
export const KIND_METRICS: Readonly<Record<string, readonly string[]>> = Object.freeze(
	Object.fromEntries(
		SENSOR_KINDS.map((k) => {
			const def = CATALOGUE[k];
			const own = Object.keys(def.metrics);
			return [k, Object.freeze([def.primaryMetric, ...own.filter((m) => m !== def.primaryMetric)])];
		})
	)
);
