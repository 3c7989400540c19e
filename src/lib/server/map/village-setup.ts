// Village boundaries for a real township: an uploaded file is converted and checked (geo/import, geo/import-report)
// and STAGED; nothing touches the villages until the admin has seen the preview and confirms. Confirming replaces
// boundaries of villages already known (matched by division code, then by name) — the old line goes to
// village_boundary_history — adds the new ones, re-routes devices to the village now holding them, and is audited.
// Reading and checking a file runs in a worker thread (./heavy-work.ts): a big file never stalls pages, broker or ingest.
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { HeavyTaskError, HeavyTaskStopped, run } from '../platform/heavy-work.js';
import { IMPORT_LIMITS, ImportError, VillageIndex, bbox, hasErrors, type Bbox, type CrsChoice, type ReportItem } from '../../../../geo/index.js';
import type { Boundary } from '../../../../geo/index.js';

export interface Actor {
	id: number | null;
	name: string;
}

export interface StagedVillage {
	index: number;
	name: string | null;
	code: string | null;
	geometry: Boundary;
	/** The existing village this boundary replaces, or null for a new village. */
	replaces: { id: number; name: string } | null;
}

export interface StagedImport {
	id: number;
	created_at: string;
	actor_name: string;
	file_name: string;
	format: string;
	crs: string;
	crs_why: { zh: string; en: string };
	villages: StagedVillage[];
	report: ReportItem[];
	confirmed_at: string | null;
}

export class SetupError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

/** The township's extent: its outline when there is one, else its villages; null for an empty database. */
export async function townshipExtent(q: Queryable): Promise<Bbox | null> {
	const t = await q.query<{ geometry: GeoJSON.Geometry }>("SELECT geometry FROM map_features WHERE kind = 'township'");
	const v = await q.query<{ bbox: number[] }>('SELECT bbox FROM villages');
	// A stored village box counts by its two corners.
	return bbox([t.rows.map((r) => r.geometry), v.rows.map((r) => [r.bbox.slice(0, 2), r.bbox.slice(2, 4)])]);
}

/** Vertices of the township's known lines (outline and villages), at most `max`, evenly spread: what a GCJ-02 file is compared with. */
export async function knownVertices(q: Queryable, max = 20_000): Promise<[number, number][]> {
	const t = await q.query<{ geometry: GeoJSON.Geometry }>("SELECT geometry FROM map_features WHERE kind = 'township'");
	const v = await q.query<{ boundary: Boundary }>('SELECT boundary FROM villages');
	const all: [number, number][] = [];
	const walk = (x: unknown): void => {
		if (!Array.isArray(x)) return;
		if (typeof x[0] === 'number' && typeof x[1] === 'number') all.push([x[0], x[1]]);
		else for (const y of x) walk(y);
	};
	for (const r of t.rows) walk((r.geometry as { coordinates?: unknown }).coordinates);
	for (const r of v.rows) walk(r.boundary.coordinates);
	if (all.length <= max) return all;
	const step = all.length / max;
	return Array.from({ length: max }, (_, i) => all[Math.floor(i * step)]);
}

/**
 * Convert, check and stage an uploaded file. Throws ImportError (plain words) for files that cannot be read, and
 * for files that take longer than the limit to check. When the file looks like GCJ-02 but is read as WGS-84, the
 * GCJ-02 reading is staged too, and the report links to it: the admin chooses.
 */
export async function stageImport(
	db: Db,
	file: { bytes: Uint8Array; name: string },
	crs: CrsChoice,
	actor: Actor,
	options: { signal?: AbortSignal } = {}
): Promise<number> {
	const extent = await townshipExtent(db);
	const known = await knownVertices(db);
	const checked = await check(file, crs, extent, known, options.signal);
	const id = await stageChecked(db, file.name, checked, actor);
	const gcj = checked.report.find((r) => r.check === 'gcj02');
	if (gcj && crs === 'auto') {
		const other = await check(file, 'gcj02', extent, known, options.signal);
		const otherId = await stageChecked(db, file.name, other, actor);
		gcj.alternative = { crs: 'gcj02', importId: otherId };
		await db.query('UPDATE boundary_imports SET report = $2 WHERE id = $1', [id, JSON.stringify(checked.report)]);
	}
	return id;
}

async function check(
	file: { bytes: Uint8Array; name: string },
	crs: CrsChoice,
	township: [number, number, number, number] | null,
	known: [number, number][],
	signal?: AbortSignal
) {
	try {
		return await run('boundaryCheck', { bytes: file.bytes, fileName: file.name, crs, township, known }, { timeoutMs: IMPORT_LIMITS.checkMs, signal });
	} catch (err) {
		if (err instanceof HeavyTaskError || err instanceof HeavyTaskStopped) throw new ImportError(err.zh, err.en);
		throw err;
	}
}

async function stageChecked(
	db: Db,
	fileName: string,
	checked: Awaited<ReturnType<typeof check>>,
	actor: Actor
): Promise<number> {
	const { report } = checked;
	const existing = await db.query<{ id: number; name: string; division_code: string | null }>('SELECT id, name, division_code FROM villages');
	const villages = checked.villages.map((v) => {
		const match = (v.code && existing.rows.find((e) => e.division_code === v.code)) || existing.rows.find((e) => v.name && e.name === v.name);
		return { index: v.index, name: v.name, code: v.code, replaces: match ? { id: match.id, name: match.name } : null };
	});
	// A code already held by another existing village would break on save: say so now.
	for (const v of villages) {
		const holder = v.code ? existing.rows.find((e) => e.division_code === v.code) : undefined;
		if (holder && v.replaces && holder.id !== v.replaces.id) {
			report.push({
				level: 'error',
				check: 'code',
				features: [v.index],
				zh: `区划代码 ${v.code} 已属于现有的“${holder.name}”。`,
				en: `Division code ${v.code} already belongs to the existing village “${holder.name}”.`
			});
		}
	}
	// The geometries arrive as JSON text from the worker and go into the row as text: never parsed on this thread.
	const villagesJson = `[${villages.map((v, i) => `${JSON.stringify(v).slice(0, -1)},"geometry":${checked.geometries[i]}}`).join(',')}]`;
	const r = await db.query<{ id: number }>(
		`INSERT INTO boundary_imports (actor_user_id, actor_name, file_name, format, crs, crs_why, villages, report)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		[actor.id, actor.name, fileName.slice(0, 200), checked.format, checked.crs, JSON.stringify(checked.crsWhy), villagesJson, JSON.stringify(report)]
	);
	return Number(r.rows[0].id);
}

export async function getStagedImport(q: Queryable, id: number): Promise<StagedImport | null> {
	const r = await q.query<Omit<StagedImport, 'created_at' | 'confirmed_at'> & { created_at: Date; confirmed_at: Date | null }>(
		'SELECT id, created_at, actor_name, file_name, format, crs, crs_why, villages, report, confirmed_at FROM boundary_imports WHERE id = $1',
		[id]
	);
	const row = r.rows[0];
	if (!row) return null;
	return { ...row, id: Number(row.id), created_at: new Date(row.created_at).toISOString(), confirmed_at: row.confirmed_at ? new Date(row.confirmed_at).toISOString() : null };
}

/**
 * Save a staged import: replace or add villages, keep old boundaries, re-route devices; one transaction, audited.
 * `answered` names the checks whose question (ReportItem.ask) the admin has answered yes; every question must be.
 */
export async function confirmImport(
	db: Db,
	id: number,
	actor: Actor,
	answered: readonly string[] = []
): Promise<{ added: number; replaced: number; rerouted: number }> {
	return db.tx(async (q) => {
		const r = await q.query<{ villages: StagedVillage[]; report: ReportItem[]; confirmed_at: Date | null; file_name: string; crs: string }>(
			'SELECT villages, report, confirmed_at, file_name, crs FROM boundary_imports WHERE id = $1 FOR UPDATE',
			[id]
		);
		const staged = r.rows[0];
		if (!staged) throw new SetupError('没有这个导入。', 'No such import.');
		if (staged.confirmed_at) throw new SetupError('这个导入已经保存过了。', 'This import was saved already.');
		if (hasErrors(staged.report)) throw new SetupError('报告中还有错误，不能保存：请修正文件后重新上传。', 'The report still has errors; fix the file and upload it again.');
		const open = staged.report.filter((item) => item.ask && !answered.includes(item.check));
		if (open.length > 0) {
			throw new SetupError(
				`保存前请先确认：${open.map((item) => item.ask!.zh).join('；')}。`,
				`Confirm before saving: ${open.map((item) => item.ask!.en).join('; ')}.`
			);
		}
		let added = 0;
		let replaced = 0;
		for (const v of staged.villages) {
			const box = bbox(v.geometry);
			if (v.replaces) {
				const old = await q.query<{ name: string; division_code: string | null; boundary: Boundary; boundary_since: Date }>(
					'SELECT name, division_code, boundary, boundary_since FROM villages WHERE id = $1 FOR UPDATE',
					[v.replaces.id]
				);
				if (!old.rows[0]) throw new SetupError(`村“${v.replaces.name}”已不存在，请重新上传。`, `Village “${v.replaces.name}” no longer exists; upload again.`);
				const o = old.rows[0];
				await q.query(
					`INSERT INTO village_boundary_history (village_id, name, division_code, boundary, valid_from, replaced_by, import_id, source)
					 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
					[v.replaces.id, o.name, o.division_code, JSON.stringify(o.boundary), new Date(o.boundary_since).toISOString(), actor.name, id, `import:${staged.file_name}`]
				);
				await q.query(
					'UPDATE villages SET name = $2, division_code = COALESCE($3, division_code), boundary = $4, bbox = $5, boundary_since = now() WHERE id = $1',
					[v.replaces.id, v.name, v.code, JSON.stringify(v.geometry), box]
				);
				replaced++;
			} else {
				await q.query('INSERT INTO villages (name, division_code, boundary, bbox) VALUES ($1, $2, $3, $4)', [v.name, v.code, JSON.stringify(v.geometry), box]);
				added++;
			}
		}
		const rerouted = await rerouteDevices(q);
		await q.query('UPDATE boundary_imports SET confirmed_at = now() WHERE id = $1', [id]);
		await audit(q, actor, 'villages_imported', { type: 'boundary_import', id }, {
			file: staged.file_name,
			crs: staged.crs,
			added,
			replaced,
			devices_rerouted: rerouted,
			...(answered.length > 0 ? { answered: [...answered] } : {})
		});
		return { added, replaced, rerouted };
	});
}

/** Every device goes to the village whose boundary now holds it (the same lookup live alarms use). */
export async function rerouteDevices(q: Queryable): Promise<number> {
	const villages = await q.query<{ id: number; boundary: Boundary }>('SELECT id, boundary FROM villages');
	const index = new VillageIndex(villages.rows.map((v) => ({ id: v.id, geometry: v.boundary })));
	const devices = await q.query<{ id: string; lng: number | null; lat: number | null; village_id: number | null }>('SELECT id, lng, lat, village_id FROM devices');
	let changed = 0;
	for (const d of devices.rows) {
		const now = d.lng === null || d.lat === null ? null : index.locate([d.lng, d.lat]);
		if (now !== d.village_id) {
			await q.query('UPDATE devices SET village_id = $2 WHERE id = $1', [d.id, now]);
			changed++;
		}
	}
	return changed;
}

export interface VillageRow {
	id: number;
	name: string;
	division_code: string | null;
	is_demo: boolean;
	boundary_since: string;
	history: { name: string; division_code: string | null; valid_from: string; replaced_at: string; replaced_by: string; source: string }[];
}

export async function listVillages(q: Queryable): Promise<VillageRow[]> {
	const v = await q.query<{ id: number; name: string; division_code: string | null; is_demo: boolean; boundary_since: Date }>(
		'SELECT id, name, division_code, is_demo, boundary_since FROM villages ORDER BY id'
	);
	const h = await q.query<{ village_id: number; name: string; division_code: string | null; valid_from: Date; replaced_at: Date; replaced_by: string; source: string }>(
		'SELECT village_id, name, division_code, valid_from, replaced_at, replaced_by, source FROM village_boundary_history ORDER BY replaced_at DESC, id DESC'
	);
	return v.rows.map((row) => ({
		...row,
		boundary_since: new Date(row.boundary_since).toISOString(),
		history: h.rows
			.filter((x) => x.village_id === row.id)
			.map((x) => ({ ...x, valid_from: new Date(x.valid_from).toISOString(), replaced_at: new Date(x.replaced_at).toISOString() }))
	}));
}

/** Rename a village or set its 12-digit division code (from the national list). */
export async function updateVillageName(db: Db, id: number, name: string, code: string | null, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const old = await q.query<{ name: string; division_code: string | null }>('SELECT name, division_code FROM villages WHERE id = $1 FOR UPDATE', [id]);
		if (!old.rows[0]) throw new SetupError('没有这个村。', 'No such village.');
		if (code) {
			const holder = await q.query<{ name: string }>('SELECT name FROM villages WHERE division_code = $1 AND id <> $2', [code, id]);
			if (holder.rows[0]) throw new SetupError(`区划代码 ${code} 已属于“${holder.rows[0].name}”。`, `Division code ${code} already belongs to “${holder.rows[0].name}”.`);
		}
		await q.query('UPDATE villages SET name = $2, division_code = $3 WHERE id = $1', [id, name, code]);
		await audit(q, actor, 'village_renamed', { type: 'village', id }, { from: old.rows[0], to: { name, division_code: code } });
	});
}
