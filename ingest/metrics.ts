// Prometheus metrics for ingest (prom-client). Counters are read from the pipeline and writer when scraped, so the
// hot path pays nothing; batch size and latency are histograms observed once per batch.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../src/lib/server/platform/db.js';
import type { IngestService } from './service.js';

export function ingestMetrics(getIngest: () => IngestService | null, db: Db) {
	const registry = new Registry();
	// The process's own health beside ingest's: resident memory, heap, GC, and event-loop delay percentiles since the last
	// scrape (monitorEventLoopDelay, reset at each collect), which is how an operator sees a stalled duty room.
	collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
	const lastCounts = { received: 0, stored: 0, duplicates: 0 };
	const received = new Counter({ name: 'shudi_ingest_messages_received_total', help: 'Messages received by ingest (MQTT and HTTP)', registers: [registry] });
	const stored = new Counter({ name: 'shudi_ingest_readings_stored_total', help: 'Readings newly stored', registers: [registry] });
	const duplicates = new Counter({ name: 'shudi_ingest_readings_duplicate_total', help: 'Readings already stored (redelivery, retransmission)', registers: [registry] });
	const dead = new Counter({ name: 'shudi_ingest_dead_letters_total', help: 'Messages or values dead-lettered, by reason', labelNames: ['reason'], registers: [registry] });
	const lastDead = new Map<string, number>();
	const refused = new Counter({ name: 'shudi_mqtt_refused_connections_total', help: 'MQTT connections the embedded broker refused, by reason', labelNames: ['reason'], registers: [registry] });
	const lastRefused = new Map<string, number>();
	const refusalsDropped = new Counter({
		name: 'shudi_mqtt_refusals_dropped_total',
		help: 'Refused connections not kept as their own row: folded into the per-minute overflow row (per_minute), or pruned or unwritable (retained)',
		labelNames: ['cap'],
		registers: [registry]
	});
	const lastDropped = { per_minute: 0, retained: 0 };
	const buffer = new Gauge({ name: 'shudi_ingest_buffer_rows', help: 'Rows waiting for the batch writer', registers: [registry], collect() { this.set(getIngest()?.writer.depth ?? 0); } });
	const inflight = new Gauge({ name: 'shudi_ingest_unacked_messages', help: 'Messages received whose PUBACK waits for their batch to commit', registers: [registry], collect() { this.set(getIngest()?.subscriber.inFlight ?? 0); } });
	const connected = new Gauge({ name: 'shudi_ingest_broker_connected', help: '1 when ingest is connected to the broker', registers: [registry], collect() { this.set(getIngest()?.subscriber.connected ? 1 : 0); } });
	const devices = new Gauge({ name: 'shudi_devices', help: 'Devices by status', labelNames: ['status'], registers: [registry] });
	const batchRows = new Histogram({ name: 'shudi_ingest_batch_rows', help: 'Rows per committed batch', buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000], registers: [registry] });
	const batchSeconds = new Histogram({ name: 'shudi_ingest_batch_seconds', help: 'Time to write and commit one batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
	void buffer;
	void inflight;
	void connected;

	return {
		registry,
		observeBatch(rows: number, ms: number) {
			batchRows.observe(rows);
			batchSeconds.observe(ms / 1000);
		},
		async render(): Promise<string> {
			const ing = getIngest();
			if (ing) {
				const c = ing.pipeline.counters;
				const s = ing.writer.stats;
				received.inc(Math.max(0, c.received - lastCounts.received));
				stored.inc(Math.max(0, s.inserted - lastCounts.stored));
				duplicates.inc(Math.max(0, s.duplicates - lastCounts.duplicates));
				lastCounts.received = c.received;
				lastCounts.stored = s.inserted;
				lastCounts.duplicates = s.duplicates;
				for (const [reason, n] of c.deadLetteredByReason) {
					dead.inc({ reason }, Math.max(0, n - (lastDead.get(reason) ?? 0)));
					lastDead.set(reason, n);
				}
				if (ing.refusals) {
					for (const [reason, n] of ing.refusals.counts) {
						refused.inc({ reason }, Math.max(0, n - (lastRefused.get(reason) ?? 0)));
						lastRefused.set(reason, n);
					}
					for (const cap of ['per_minute', 'retained'] as const) {
						refusalsDropped.inc({ cap }, Math.max(0, ing.refusals.dropped[cap] - lastDropped[cap]));
						lastDropped[cap] = ing.refusals.dropped[cap];
					}
				}
			}
			const st = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM devices WHERE revoked_at IS NULL GROUP BY status');
			devices.reset();
			for (const r of st.rows) devices.set({ status: r.status }, r.n);
			return registry.metrics();
		}
	};
}
