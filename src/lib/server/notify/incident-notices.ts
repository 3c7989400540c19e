// Case notices (opened, escalated, reminded, acknowledged …) become webhook deliveries: each notice is joined with
// its case's current facts once, so every channel reads the same text and deadline.
import type { Db } from '../platform/db.js';
import type { Level } from '../../domain/types.js';
import type { IncidentNotice } from '../cases/incidents.js';
import { enqueue } from './webhooks.js';

export async function enqueueNotices(db: Db, notices: IncidentNotice[]): Promise<void> {
	const ids = [...new Set(notices.map((n) => n.incident_id))];
	const r = await db.query<{ id: number; title: string; level: Level | null; status: string; village: string | null; category: string; opened_at: Date; ack_due: Date | null }>(
		'SELECT i.id, i.title, i.level, i.status, v.name AS village, i.category, i.opened_at, i.ack_due FROM incidents i LEFT JOIN villages v ON v.id = i.village_id WHERE i.id = ANY($1::bigint[])',
		[ids]
	);
	const byId = new Map(r.rows.map((x) => [x.id, x]));
	for (const n of notices) {
		const i = byId.get(n.incident_id);
		if (!i) continue;
		await enqueue(db, {
			type: n.type,
			incident: { ...i, opened_at: new Date(i.opened_at).toISOString(), ack_due: i.ack_due ? new Date(i.ack_due).toISOString() : null, url: `/incidents/${i.id}` },
			to: n.to.map((t) => ({ role: t.role, name: t.name, phone: t.phone })),
			at: new Date().toISOString(),
			text_zh: n.text_zh
		});
	}
}
