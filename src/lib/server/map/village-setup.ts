// Village boundaries for a real township: an uploaded file is converted and checked (geo/import, geo/import-report)
// and STAGED; nothing touches the villages until the admin has seen the preview and confirms. Confirming replaces
// boundaries of villages already known (matched by division code, then by name) — the old line goes to
// village_boundary_history — adds the new ones, re-routes devices to the village now holding them, and is audited.
// Reading and checking a file runs in a worker thread (../platform/heavy-work.ts), which also writes the staged
// geometry to files under DATA_DIR/staging and a simplified copy for the preview; the database holds only the
// staging row's names, codes and report. Confirming writes the lines in small transactions (see confirmImport):
// on the embedded database every statement runs on the thread that serves pages, broker and ingest.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { config } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { stagedFiles, sweepIncoming } from '../platform/upload-stream.js';
import { HeavyTaskError, HeavyTaskStopped, run, type TaskInput, type TaskOutput } from '../platform/heavy-work.js';
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
	/** Vertices in the file. */
	vertices?: number;
	/** The preview's simplified geometry; null once the staged files are gone. */
	geometry: Boundary | null;
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
	/** Vertices in the file, shown in the preview, and the simplification tolerance in degrees (0: all shown). */
	preview: { vertices: number; shown: number; toleranceDeg: number } | null;
	/** Not saved, and its staged files are gone (discarded, expired after STAGED_MAX_AGE_MS, or from before staging on disk). */
	expired: boolean;
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

/** Where staged geometry lives: DATA_DIR/staging (see heavy-tasks.ts stagedFiles). */
export const stagingDir = (dataDir: string = config().DATA_DIR) => join(resolve(dataDir), 'staging');
/** A staged import not confirmed within this is expired: its files are removed and the admin uploads again. */
export const STAGED_MAX_AGE_MS = 24 * 3600_000;
/**
 * Per transaction when confirming: at most this many villages and this much geometry text. PGlite stores jsonb at
 * about 8 MB/s on a duty-room box (one 39 MB statement took 4.7 s), so 256 kB is about 30 ms.
 */
export const CONFIRM_BATCH = { rows: 100, bytes: 256 * 1024 } as const;

export interface StageOptions {
	signal?: AbortSignal;
	/** DATA_DIR (default: the process's config). */
	dataDir?: string;
}

/**
 * Convert, check and stage an uploaded file. Throws ImportError (plain words) for files that cannot be read, and
 * for files that take longer than the limit to check. When the file looks like GCJ-02 but is read as WGS-84, the
 * GCJ-02 reading is staged too, and the report links to it: the admin chooses. The worker writes the geometry to
 * files under DATA_DIR/staging; the row holds names, codes and the report.
 */
export async function stageImport(
	db: Db,
	file: { path: string; name: string } | { bytes: Uint8Array; name: string },
	crs: CrsChoice,
	actor: Actor,
	options: StageOptions = {}
): Promise<number> {
	const extent = await townshipExtent(db);
	const known = await knownVertices(db);
	const dir = stagingDir(options.dataDir);
	await mkdir(dir, { recursive: true });
	const source = 'path' in file ? { path: file.path } : { bytes: file.bytes };
	const stage = async (reading: CrsChoice) => {
		const token = `${Date.now()}-${randomBytes(8).toString('hex')}`;
		const checked = await check({ source, fileName: file.name, crs: reading, township: extent, known, stagingDir: dir, token }, options.signal);
		try {
			return { id: await stageChecked(db, file.name, checked, token, actor), checked };
		} catch (err) {
			await removeStaged(dir, token);
			throw err;
		}
	};
	const first = await stage(crs);
	const gcj = first.checked.report.find((r) => r.check === 'gcj02');
	if (gcj && crs === 'auto') {
		const other = await stage('gcj02');
		gcj.alternative = { crs: 'gcj02', importId: other.id };
		await db.query('UPDATE boundary_imports SET report = $2 WHERE id = $1', [first.id, JSON.stringify(first.checked.report)]);
	}
	return first.id;
}

async function check(input: TaskInput<'boundaryStage'>, signal?: AbortSignal) {
	try {
		return await run('boundaryStage', input, { timeoutMs: IMPORT_LIMITS.checkMs, signal });
	} catch (err) {
		if (err instanceof HeavyTaskError || err instanceof HeavyTaskStopped) throw new ImportError(err.zh, err.en);
		throw err;
	}
}

async function removeStaged(dir: string, token: string): Promise<void> {
	const f = stagedFiles(dir, token);
	await Promise.all([unlink(f.full).catch(() => {}), unlink(f.preview).catch(() => {})]);
}

async function stageChecked(db: Db, fileName: string, checked: TaskOutput<'boundaryStage'>, token: string, actor: Actor): Promise<number> {
	const { report } = checked;
	const existing = await db.query<{ id: number; name: string; division_code: string | null }>('SELECT id, name, division_code FROM villages');
	const villages = checked.villages.map((v) => {
		const match = (v.code && existing.rows.find((e) => e.division_code === v.code)) || existing.rows.find((e) => v.name && e.name === v.name);
		return { index: v.index, name: v.name, code: v.code, vertices: v.vertices, replaces: match ? { id: match.id, name: match.name } : null };
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
	const r = await db.query<{ id: number }>(
		`INSERT INTO boundary_imports (actor_user_id, actor_name, file_name, format, crs, crs_why, villages, report, staged_file, preview)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		[
			actor.id,
			actor.name,
			fileName.slice(0, 200),
			checked.format,
			checked.crs,
			JSON.stringify(checked.crsWhy),
			JSON.stringify(villages),
			JSON.stringify(report),
			token,
			JSON.stringify(checked.preview)
		]
	);
	return Number(r.rows[0].id);
}

/**
 * A staged import as the preview page shows it: the villages carry the simplified preview geometry (read from its
 * file, at most heavy-tasks.ts PREVIEW_VERTICES in all), or null once the staged files are gone (`expired`).
 */
export async function getStagedImport(q: Queryable, id: number, options: { dataDir?: string } = {}): Promise<StagedImport | null> {
	const r = await q.query<
		Omit<StagedImport, 'created_at' | 'confirmed_at' | 'villages' | 'expired'> & {
			created_at: Date;
			confirmed_at: Date | null;
			villages: Omit<StagedVillage, 'geometry'>[];
			staged_file: string | null;
		}
	>('SELECT id, created_at, actor_name, file_name, format, crs, crs_why, villages, report, confirmed_at, staged_file, preview FROM boundary_imports WHERE id = $1', [id]);
	const row = r.rows[0];
	if (!row) return null;
	let geometries: (Boundary | null)[] = [];
	if (row.staged_file) {
		try {
			geometries = JSON.parse(await readFile(stagedFiles(stagingDir(options.dataDir), row.staged_file).preview, 'utf8')) as Boundary[];
		} catch {
			geometries = [];
		}
	}
	const { staged_file, ...rest } = row;
	return {
		...rest,
		id: Number(row.id),
		created_at: new Date(row.created_at).toISOString(),
		confirmed_at: row.confirmed_at ? new Date(row.confirmed_at).toISOString() : null,
		expired: !row.confirmed_at && (!staged_file || geometries.length !== row.villages.length),
		villages: row.villages.map((v, i) => ({ ...v, geometry: geometries[i] ?? null }))
	};
}

/** Confirms in progress in this process: a double click waits for nothing and is told so. */
const confirming = new Set<number>();

/**
 * Save a staged import: replace or add villages, keep old boundaries, re-route devices; audited.
 * `answered` names the checks whose question (ReportItem.ask) the admin has answered yes; every question must be.
 * The worker reads the staged file and locates the devices. The villages are then written a batch at a time
 * (CONFIRM_BATCH), each batch its own short transaction that keeps a village's old line in history and puts the new
 * one in place together; a last transaction re-routes the devices, marks the import saved and audits it. On the
 * embedded database one transaction over a million vertices held the database (and the loop) for seconds, so
 * readings waited; batches keep every hold short. A save cut off part-way (a crash, a lost database) is finished by
 * confirming again: the villages of the import take the ids recorded on its first try, and batches already saved
 * are skipped.
 */
export async function confirmImport(
	db: Db,
	id: number,
	actor: Actor,
	answered: readonly string[] = [],
	options: { dataDir?: string } = {}
): Promise<{ added: number; replaced: number; rerouted: number }> {
	if (confirming.has(id)) throw new SetupError('这个导入正在保存。', 'This import is being saved.');
	confirming.add(id);
	try {
		return await confirmOnce(db, id, actor, answered, stagingDir(options.dataDir));
	} finally {
		confirming.delete(id);
	}
}

async function confirmOnce(db: Db, id: number, actor: Actor, answered: readonly string[], dir: string) {
	const r = await db.query<{
		villages: Omit<StagedVillage, 'geometry'>[];
		report: ReportItem[];
		confirmed_at: Date | null;
		file_name: string;
		crs: string;
		staged_file: string | null;
		village_ids: number[] | null;
	}>('SELECT villages, report, confirmed_at, file_name, crs, staged_file, village_ids FROM boundary_imports WHERE id = $1', [id]);
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
	const expired = new SetupError('这个预览已过期或已放弃，请重新上传文件。', 'This preview has expired or was discarded; upload the file again.');
	if (!staged.staged_file) throw expired;
	const file = stagedFiles(dir, staged.staged_file).full;
	if (!(await stat(file).catch(() => null))) throw expired;

	// The village id each staged boundary becomes: the one it replaces, or a new one, recorded before anything is
	// written so that a second try writes the same villages.
	let targets = staged.village_ids;
	if (!targets) {
		const fresh = staged.villages.filter((v) => !v.replaces).length;
		const ids = fresh
			? (await db.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('villages', 'id'))::int AS id FROM generate_series(1, $1)", [fresh])).rows.map((x) => x.id)
			: [];
		let next = 0;
		targets = staged.villages.map((v) => (v.replaces ? v.replaces.id : ids[next++]));
		const set = await db.query<{ village_ids: number[] }>(
			'UPDATE boundary_imports SET village_ids = COALESCE(village_ids, $2::int[]) WHERE id = $1 RETURNING village_ids',
			[id, targets]
		);
		targets = set.rows[0].village_ids;
	}
	const replacedIds = staged.villages.filter((v) => v.replaces).map((v) => v.replaces!.id);
	const done = await db.query<{ id: number; replaced: boolean }>(
		`SELECT village_id AS id, true AS replaced FROM village_boundary_history WHERE import_id = $1
		 UNION SELECT id, false FROM villages WHERE id = ANY($2::int[]) AND NOT (id = ANY($3::int[]))`,
		[id, targets, replacedIds]
	);
	const saved = new Set(done.rows.map((x) => x.id));
	const still = await db.query<{ id: number }>('SELECT id FROM villages WHERE id = ANY($1::int[])', [replacedIds]);
	const gone = staged.villages.find((v) => v.replaces && !still.rows.some((x) => x.id === v.replaces!.id));
	if (gone) throw new SetupError(`村“${gone.replaces!.name}”已不存在，请重新上传。`, `Village “${gone.replaces!.name}” no longer exists; upload again.`);

	const others = await db.query<{ id: number; boundary: string }>('SELECT id, boundary::text AS boundary FROM villages WHERE NOT (id = ANY($1::int[]))', [targets]);
	const devices = await db.query<{ id: string; lng: number | null; lat: number | null; village_id: number | null }>('SELECT id, lng, lat, village_id FROM devices');
	let prepared: TaskOutput<'boundaryConfirm'>;
	try {
		prepared = await run('boundaryConfirm', { path: file, targets, others: others.rows, devices: devices.rows }, { timeoutMs: IMPORT_LIMITS.checkMs });
	} catch (err) {
		if (err instanceof HeavyTaskError || err instanceof HeavyTaskStopped) throw new SetupError(err.zh, err.en);
		throw err;
	}

	// Batches of staged positions not saved yet: at most CONFIRM_BATCH villages and bytes each; a village larger
	// than a batch goes alone.
	const todo = targets.map((_, i) => i).filter((i) => !saved.has(targets![i]));
	const batches: number[][] = [];
	for (let k = 0; k < todo.length; ) {
		const batch: number[] = [];
		let bytes = 0;
		while (k < todo.length && batch.length < CONFIRM_BATCH.rows && (batch.length === 0 || bytes + prepared.geometries[todo[k]].length <= CONFIRM_BATCH.bytes)) {
			bytes += prepared.geometries[todo[k]].length;
			batch.push(todo[k++]);
		}
		batches.push(batch);
	}
	const source = `import:${staged.file_name}`;
	for (const batch of batches) {
		const rows = batch.map((i) => ({ id: targets![i], v: staged.villages[i], geometry: prepared.geometries[i], box: prepared.bboxes[i] }));
		const replacing = rows.filter((x) => x.v.replaces);
		const adding = rows.filter((x) => !x.v.replaces);
		await db.tx(async (q) => {
			if (replacing.length) {
				// The old line goes to history in the same transaction that replaces it.
				await q.query(
					`INSERT INTO village_boundary_history (village_id, name, division_code, boundary, valid_from, replaced_by, import_id, source)
					 SELECT id, name, division_code, boundary, boundary_since, $2, $3, $4 FROM villages WHERE id = ANY($1::int[])`,
					[replacing.map((x) => x.id), actor.name, id, source]
				);
				await q.query(
					`UPDATE villages v SET name = u.name, division_code = COALESCE(u.code, v.division_code), boundary = u.boundary::jsonb,
					   bbox = ARRAY[u.x0, u.y0, u.x1, u.y1], boundary_since = now()
					 FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
					   AS u(id, name, code, boundary, x0, y0, x1, y1)
					 WHERE v.id = u.id`,
					columns(replacing)
				);
			}
			if (adding.length) {
				await q.query(
					`INSERT INTO villages (id, name, division_code, boundary, bbox)
					 SELECT u.id, u.name, u.code, u.boundary::jsonb, ARRAY[u.x0, u.y0, u.x1, u.y1]
					 FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
					   AS u(id, name, code, boundary, x0, y0, x1, y1)`,
					columns(adding)
				);
			}
		});
		// Readings and pages get the database and the loop between batches.
		await new Promise((r) => setImmediate(r));
	}

	const result = await db.tx(async (q) => {
		const again = await q.query<{ confirmed_at: Date | null }>('SELECT confirmed_at FROM boundary_imports WHERE id = $1 FOR UPDATE', [id]);
		if (again.rows[0]?.confirmed_at) throw new SetupError('这个导入已经保存过了。', 'This import was saved already.');
		if (prepared.moves.length) {
			await q.query('UPDATE devices d SET village_id = m.village_id FROM unnest($1::text[], $2::int[]) AS m(id, village_id) WHERE d.id = m.id', [
				prepared.moves.map((m) => m.id),
				prepared.moves.map((m) => m.village_id)
			]);
		}
		await q.query('UPDATE boundary_imports SET confirmed_at = now(), staged_file = NULL WHERE id = $1', [id]);
		const out = { added: targets!.length - replacedIds.length, replaced: replacedIds.length, rerouted: prepared.moves.length };
		await audit(q, actor, 'villages_imported', { type: 'boundary_import', id }, {
			file: staged.file_name,
			crs: staged.crs,
			added: out.added,
			replaced: out.replaced,
			devices_rerouted: out.rerouted,
			...(answered.length > 0 ? { answered: [...answered] } : {}),
			...(saved.size > 0 ? { resumed_after: saved.size } : {})
		});
		return out;
	});
	await removeStaged(dir, staged.staged_file);
	return result;
}

/** A batch's villages as the unnest columns of confirmOnce: id, name, code, geometry text, box corners. */
function columns(rows: { id: number; v: Omit<StagedVillage, 'geometry'>; geometry: string; box: [number, number, number, number] }[]): unknown[] {
	return [
		rows.map((x) => x.id),
		rows.map((x) => x.v.name),
		rows.map((x) => x.v.code),
		rows.map((x) => x.geometry),
		...[0, 1, 2, 3].map((k) => rows.map((x) => x.box[k]))
	];
}

/** The admin discards a staged import: its files go; the row stays (the report was seen) with no geometry. */
export async function discardStagedImport(db: Db, id: number, options: { dataDir?: string } = {}): Promise<void> {
	const r = await db.query<{ staged_file: string | null }>(
		`WITH old AS (SELECT id, staged_file FROM boundary_imports WHERE id = $1 AND confirmed_at IS NULL FOR UPDATE)
		 UPDATE boundary_imports b SET staged_file = NULL FROM old WHERE b.id = old.id RETURNING old.staged_file`,
		[id]
	);
	const token = r.rows[0]?.staged_file;
	if (token) await removeStaged(stagingDir(options.dataDir), token);
}

/**
 * Removes staged files of imports confirmed, discarded or older than `maxAgeMs` (but never of one a save was cut
 * off part-way through: confirming again finishes it), files no row names (a crash between the worker writing and
 * the row being saved) once older than `orphanMinAgeMs`, and uploads left in DATA_DIR/incoming. Returns how many
 * files went.
 */
export async function sweepStaging(
	db: Db,
	dataDir: string,
	opts: { maxAgeMs?: number; orphanMinAgeMs?: number; now?: number } = {}
): Promise<number> {
	const maxAge = opts.maxAgeMs ?? STAGED_MAX_AGE_MS;
	const now = opts.now ?? Date.now();
	const dir = stagingDir(dataDir);
	const expired = await db.query<{ staged_file: string }>(
		`UPDATE boundary_imports SET staged_file = NULL
		 WHERE staged_file IS NOT NULL AND (confirmed_at IS NOT NULL OR (created_at < $1::timestamptz AND village_ids IS NULL))
		 RETURNING staged_file`,
		[new Date(now - maxAge).toISOString()]
	);
	let removed = 0;
	for (const x of expired.rows) {
		await removeStaged(dir, x.staged_file);
		removed++;
	}
	const live = new Set((await db.query<{ staged_file: string }>('SELECT staged_file FROM boundary_imports WHERE staged_file IS NOT NULL')).rows.map((x) => x.staged_file));
	const names = await readdir(dir).catch(() => [] as string[]);
	for (const name of names) {
		const token = /^(.+?)\.(preview\.)?json(\.tmp)?$/.exec(name)?.[1];
		if (!token || live.has(token)) continue;
		const s = await stat(join(dir, name)).catch(() => null);
		if (s?.isFile() && now - s.mtimeMs >= (opts.orphanMinAgeMs ?? 10 * 60_000)) await unlink(join(dir, name)).then(() => removed++, () => {});
	}
	return removed + (await sweepIncoming(dataDir, undefined, now));
}

/** Sweeps at start (orphans of any age: no request is staging yet) and then hourly; returns the stop function. */
export function startStagingSweep(db: Db, dataDir: string, log: Logger, everyMs = 3600_000): () => Promise<void> {
	let running: Promise<void> | null = null;
	const pass = (orphanMinAgeMs?: number) => {
		running ??= sweepStaging(db, dataDir, { orphanMinAgeMs })
			.then((n) => {
				if (n) log.info({ removed: n }, 'staged boundary files removed');
			})
			.catch((err) => log.warn({ err: (err as Error).message }, 'staging sweep failed'))
			.finally(() => (running = null));
	};
	pass(0);
	const timer = setInterval(() => pass(), everyMs);
	timer.unref();
	return async () => {
		clearInterval(timer);
		await running;
	};
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
