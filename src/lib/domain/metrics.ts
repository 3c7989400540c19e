// Metric catalogue: units and physical ranges from DOMAIN.md. A value outside its physical range is a broken
// sensor or a corrupted payload, never a real observation, so ingest rejects it before it can raise an alarm.

export interface MetricDef {
	unit: string;
	/** Inclusive physical range; values outside it are rejected at ingest. */
	min: number;
	max: number;
	zh: string;
	en: string;
}

export const METRICS: Readonly<Record<string, MetricDef>> = Object.freeze({
	water_level_m: { unit: 'm', min: -50, max: 9000, zh: '水位', en: 'Water level' },
	tilt_x_deg: { unit: '°', min: -90, max: 90, zh: '倾角X', en: 'Tilt X' },
	tilt_y_deg: { unit: '°', min: -90, max: 90, zh: '倾角Y', en: 'Tilt Y' },
	crack_mm: { unit: 'mm', min: -100, max: 500, zh: '裂缝宽度', en: 'Crack width' },
	settlement_mm: { unit: 'mm', min: -2000, max: 2000, zh: '沉降', en: 'Settlement' },
	rain_mm: { unit: 'mm', min: 0, max: 500, zh: '雨量', en: 'Rainfall' },
	displacement_mm: { unit: 'mm', min: -10000, max: 10000, zh: '位移', en: 'Displacement' },
	soil_moisture_pct: { unit: '%', min: 0, max: 100, zh: '土壤含水率', en: 'Soil moisture' },
	battery_v: { unit: 'V', min: 0, max: 60, zh: '电池电压', en: 'Battery voltage' },
	battery_pct: { unit: '%', min: 0, max: 100, zh: '电量', en: 'Battery' },
	rssi_dbm: { unit: 'dBm', min: -200, max: 20, zh: '信号强度', en: 'RSSI' },
	snr_db: { unit: 'dB', min: -40, max: 40, zh: '信噪比', en: 'SNR' },
	temperature_c: { unit: '°C', min: -60, max: 100, zh: '温度', en: 'Temperature' }
});

export function isKnownMetric(name: string): boolean {
	return Object.prototype.hasOwnProperty.call(METRICS, name);
}

/** Metrics each sensor kind reports as its primary measurement (health metrics may come from any kind). */
export const KIND_METRICS: Readonly<Record<string, readonly string[]>> = Object.freeze({
	river_level: ['water_level_m'],
	house_tilt: ['tilt_x_deg', 'tilt_y_deg'],
	crack: ['crack_mm'],
	settlement: ['settlement_mm'],
	rain_gauge: ['rain_mm'],
	displacement: ['displacement_mm'],
	soil_moisture: ['soil_moisture_pct']
});
