// Network-server integrations (issue 22 item 4): one account per ChirpStack or The Things Stack application. The same
// secret serves both ways a network server delivers: as the MQTT password on the embedded broker (username = the
// integration's id; its ACL covers that application's topics only) and as the `X-Shudi-Secret` header of ChirpStack's
// HTTP integration or a TTS webhook. The secret is shown once and kept as SHA-256, like device tokens
// (device-tokens.ts): it is machine-made and high-entropy, and the broker checks it on every connection.
import { z } from 'zod';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { hashToken, newDeviceToken, tokenMatches } from './device-tokens.js';

export type IntegrationKind = 'chirpstack' | 'tts';

export interface Integration {
	id: string;
	kind: IntegrationKind;
	applicationId: string;
	/** TTS tenant (`ttn` on The Things Network); null on ChirpStack and on The Things Stack Open Source. */
	tenant: string | null;
	name: string;
	secretHash: string;
	revoked: boolean;
	createdAt: Date;
}

/** The header ChirpStack's HTTP integration and TTS webhooks send (both let the admin add custom headers). */
export const SECRET_HEADER = 'x-shudi-secret';

export const INTEGRATION_ID = /^[a-z0-9][a-z0-9_-]{1,62}$/;

export const newIntegrationSchema = z
	.object({
		id: z.string().regex(INTEGRATION_ID, '2–63 of a-z 0-9 _ - (starting with a letter or digit) / 2–63 位小写字母、数字、_ 或 -'),
		kind: z.enum(['chirpstack', 'tts']),
		application_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'application id: letters, digits, _ . - / 应用 ID 只能含字母、数字、_ . -'),
		tenant: z
			.string()
			.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'tenant: letters, digits, _ . - / 租户只能含字母、数字、_ . -')
			.optional(),
		name: z
			.string()
			.max(100)
			.refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'name: no control characters / 名称不能含控制字符')
			.default('')
	})
	.refine((v) => v.kind === 'tts' || !v.tenant, { message: 'a tenant belongs to The Things Stack only / 只有 The Things Stack 有租户', path: ['tenant'] });

export type NewIntegration = z.infer<typeof newIntegrationSchema>;

export class IntegrationError extends Error {}

type Row = { id: string; kind: IntegrationKind; application_id: string; tenant: string | null; name: string; secret_hash: string; revoked_at: Date | null; created_at: Date };

function fromRow(r: Row): Integration {
	return {
		id: r.id,
		kind: r.kind,
		applicationId: r.application_id,
		tenant: r.tenant,
		name: r.name,
		secretHash: r.secret_hash,
		revoked: r.revoked_at !== null,
		createdAt: new Date(r.created_at)
	};
}

const COLUMNS = 'id, kind, application_id, tenant, name, secret_hash, revoked_at, created_at';

type Actor = { id: number | null; name: string };

/** Creates an integration; returns its secret, which is never stored and cannot be shown again. */
export async function createIntegration(db: Db, v: NewIntegration, actor: Actor): Promise<{ integration: Integration; secret: string }> {
	const secret = newDeviceToken();
	return db.tx(async (q) => {
		const exists = await q.query('SELECT 1 FROM integrations WHERE id = $1', [v.id]);
		if (exists.rowCount) throw new IntegrationError(`集成 ${v.id} 已存在 / integration ${v.id} already exists`);
		const r = await q.query<Row>(
			`INSERT INTO integrations (id, kind, application_id, tenant, name, secret_hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
			[v.id, v.kind, v.application_id, v.tenant ?? null, v.name, hashToken(secret)]
		);
		await audit(q, actor, 'integration_created', { type: 'integration', id: v.id }, { kind: v.kind, application_id: v.application_id, tenant: v.tenant ?? null });
		return { integration: fromRow(r.rows[0]), secret };
	});
}

export async function revokeIntegration(db: Db, id: string, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const r = await q.query('UPDATE integrations SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
		if (!r.rowCount) throw new IntegrationError(`没有启用中的集成 ${id} / no active integration ${id}`);
		await audit(q, actor, 'integration_revoked', { type: 'integration', id });
	});
}

export async function listIntegrations(db: Queryable): Promise<Integration[]> {
	const r = await db.query<Row>(`SELECT ${COLUMNS} FROM integrations ORDER BY created_at DESC, id`);
	return r.rows.map(fromRow);
}

export async function findIntegration(db: Queryable, id: string): Promise<Integration | undefined> {
	if (!INTEGRATION_ID.test(id)) return undefined;
	const r = await db.query<Row>(`SELECT ${COLUMNS} FROM integrations WHERE id = $1`, [id]);
	return r.rows[0] ? fromRow(r.rows[0]) : undefined;
}

/** Why a credential is refused, or null when it is good. Unknown and wrong answer alike to the caller. */
export function checkSecret(i: Integration | undefined, kind: IntegrationKind | undefined, secret: string): 'unknown_integration' | 'bad_secret' | 'revoked_integration' | null {
	if (!i || (kind && i.kind !== kind)) return 'unknown_integration';
	if (!tokenMatches(secret, i.secretHash)) return 'bad_secret';
	if (i.revoked) return 'revoked_integration';
	return null;
}

/** The application's part of a TTS topic: `{appId}@{tenant}`, or `{appId}` on The Things Stack Open Source. */
export function ttsAppTopic(i: Pick<Integration, 'applicationId' | 'tenant'>): string {
	return i.tenant ? `${i.applicationId}@${i.tenant}` : i.applicationId;
}

/**
 * The topics an integration account may publish to, as one test. ChirpStack's MQTT integration publishes every event
 * type of the application (up, status, join, ack, txack, log, location, integration) to
 * `application/{applicationId}/device/{devEui}/event/{event}`; TTS publishes `v3/{app}@{tenant}/devices/{id}/{type}`.
 * The whole application namespace is allowed so that events shudi does not store (join, ack …) are accepted and go
 * to no subscriber instead of cutting the network server's connection (a refused publish closes it under MQTT
 * 3.1.1); the ingest subscribes to `up` and `status` only (ingest/subscriber.ts). Anything outside the application's
 * namespace is refused and dead-lettered.
 */
export function integrationMayPublish(i: Pick<Integration, 'kind' | 'applicationId' | 'tenant'>, topic: string): boolean {
	const parts = topic.split('/');
	if (i.kind === 'chirpstack') {
		return parts.length === 6 && parts[0] === 'application' && parts[1] === i.applicationId && parts[2] === 'device' && parts[3] !== '' && parts[4] === 'event' && parts[5] !== '';
	}
	return parts.length >= 5 && parts[0] === 'v3' && parts[1] === ttsAppTopic(i) && parts[2] === 'devices' && parts[3] !== '' && parts.slice(4).every((p) => p !== '');
}

/**
 * Topic filters an integration account may subscribe to: its own application's namespace. ChirpStack's MQTT
 * integration subscribes to its command topic (`application/{applicationId}/device/+/command/+`) for downlinks, and
 * a TTS Pub/Sub to its downlink topics; shudi sends no downlinks, so these subscriptions stay silent, but refusing
 * them would end the network server's session on every reconnect.
 */
export function integrationMaySubscribe(i: Pick<Integration, 'kind' | 'applicationId' | 'tenant'>, filter: string): boolean {
	const prefix = i.kind === 'chirpstack' ? `application/${i.applicationId}/` : `v3/${ttsAppTopic(i)}/`;
	return filter.startsWith(prefix) && filter.length > prefix.length;
}

/**
 * The integrations, cached for the embedded broker (which checks one on every connection and every publish):
 * reloaded on a short timer and on a miss, like ingest/registry.ts, so a new or revoked integration takes effect
 * within seconds in every process.
 */
export class IntegrationRegistry {
	private byId = new Map<string, Integration>();
	private lastLoad = 0;
	private loading: Promise<void> | null = null;
	private timer: NodeJS.Timeout | null = null;

	constructor(
		private readonly db: Queryable,
		private readonly opts: { refreshMs?: number; minMissReloadMs?: number } = {}
	) {}

	async start(): Promise<void> {
		await this.reload();
		this.timer = setInterval(() => void this.reload().catch(() => undefined), this.opts.refreshMs ?? 5000);
		this.timer.unref();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	reload(): Promise<void> {
		this.loading ??= listIntegrations(this.db)
			.then((all) => {
				this.byId = new Map(all.map((i) => [i.id, i]));
				this.lastLoad = Date.now();
			})
			.finally(() => (this.loading = null));
		return this.loading;
	}

	cached(id: string): Integration | undefined {
		return this.byId.get(id);
	}

	async find(id: string): Promise<Integration | undefined> {
		let i = this.byId.get(id);
		if (!i && INTEGRATION_ID.test(id) && Date.now() - this.lastLoad > (this.opts.minMissReloadMs ?? 1000)) {
			await this.reload().catch(() => undefined);
			i = this.byId.get(id);
		}
		return i;
	}
}
