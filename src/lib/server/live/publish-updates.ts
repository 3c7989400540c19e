// After each committed batch, the live bus hears which sensors changed: small updates, never the whole map.
import type { LiveBus, SensorUpdate } from './events.js';

/** What a committed batch tells the live side (ingest/writer.ts BatchResult has this shape). */
export interface CommittedBatch {
	latest: readonly { deviceId: string; metric: string; value: number; observedAt: Date; flags: number }[];
	/** Devices that were silent or offline and report again. */
	revived: readonly string[];
	/** Devices heard from without a measurement that this batch made no_data (radio or battery metadata only). */
	noData?: readonly string[];
	seen: ReadonlyMap<string, Date>;
}

export function publishUpdates(bus: LiveBus, r: CommittedBatch): void {
	if (!r.latest.length) return;
	// Nobody can read it (no stream open, no console loading): skip building it, and say so, so that no reader can
	// later be served the events around it as if they were all there.
	if (!bus.wanted('sensors')) return bus.gap();
	const revived = new Set(r.revived);
	const noData = new Set(r.noData ?? []);
	const byDevice = new Map<string, SensorUpdate>();
	for (const reading of r.latest) {
		let u = byDevice.get(reading.deviceId);
		if (!u) {
			u = { id: reading.deviceId, last_seen: r.seen.get(reading.deviceId)?.toISOString() ?? null, values: {} };
			// The only status this batch knows for sure; alarm levels follow as `status` events (events.ts).
			if (revived.has(reading.deviceId)) u.status = 'normal';
			else if (noData.has(reading.deviceId)) u.status = 'no_data';
			byDevice.set(reading.deviceId, u);
		}
		u.values[reading.metric] = { value: reading.value, observed_at: reading.observedAt.toISOString(), flags: reading.flags };
	}
	bus.emit('sensors', [...byDevice.values()]);
}
