// Colours on the map: one per sensor kind (the symbol's outline). Level and status colours live with the levels
// (levels.ts), so a level is coloured the same way on the map, in charts and in the queue.
import { perKind, type SensorKind } from './sensor-kinds.js';
export { STATUS_COLOURS } from './levels.js';

/** From the sensor-kind catalogue (sensor-kinds.ts). */
export const KIND_COLOURS: Readonly<Record<SensorKind, string>> = Object.freeze(perKind((d) => d.colour));
