// Colours on the map: one per sensor kind (the symbol's outline). Level and status colours live with the levels
// (levels.ts), so a level is coloured the same way on the map, in charts and in the queue.
import type { SensorKind } from './types';
export { STATUS_COLOURS } from './levels.js';

export const KIND_COLOURS: Record<SensorKind, string> = {
	river_level: '#0b62a4',
	house_tilt: '#8c510a',
	crack: '#bf812d',
	settlement: '#6a3d9a',
	rain_gauge: '#01665e',
	displacement: '#b2182b',
	soil_moisture: '#4d9221'
};
