// In-process live event bus: ingest publishes what changed after each committed batch, the web layer fans it out
// to browsers over server-sent events. Small updates only (changed sensors), never the whole map.
import { EventEmitter } from 'node:events';

export interface SensorUpdate {
	id: string;
	/**
	 * Present only when the batch itself changed it (a silent or offline device reporting again → normal). Alarm
	 * levels come as `status` events from the rule runner, which judges after the batch: a status read here would
	 * race with that judgement and could paint a red sensor normal again.
	 */
	status?: string;
	last_seen: string | null;
	values: Record<string, { value: number; observed_at: string; flags: number }>;
}

export interface LiveEvents {
	sensors: [SensorUpdate[]];
	status: [{ id: string; status: string; at: string }];
	/** A case opened, changed level, was escalated or acted on: consoles re-read it. */
	incident: [{ id: number; type: string; text_zh?: string; to?: { name: string; role: string }[] }];
	/** The process is stopping: live streams end so the HTTP server can close. */
	shutdown: [];
}

export class LiveBus extends EventEmitter<LiveEvents> {
	constructor() {
		super();
		// One listener per open browser tab.
		this.setMaxListeners(10_000);
	}
}
