// `npm run restore -- <backup.tar> [--force]`: puts a backup made by `npm run backup` back, into the configured
// database (DATA_DIR/pgdata, or the database at DATABASE_URL) and DATA_DIR/uploads. It refuses to overwrite a database
// or uploads folder that holds anything unless --force is given; embedded, --force keeps the old folders beside the new
// ones (pgdata.before-restore-<time>), never deletes them. The restored row counts are checked against the manifest.
// Migrations newer than the backup apply at the next start, as on every upgrade.
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import * as tar from 'tar';
import { config } from '../src/lib/server/platform/config.js';
import { openDb, type Db } from '../src/lib/server/platform/db.js';
import { countRows, type RowCounts } from '../src/lib/server/platform/backup.js';
import { fail } from './cli-db.js';
import { BACKUP_FORMAT, runPgTool, type Manifest } from './lib/backup-format.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { force: { type: 'boolean', default: false } } });
if (positionals.length !== 1) fail('用法 usage: npm run restore -- <backup.tar> [--force]');
const archive = resolve(positionals[0]);
if (!existsSync(archive) || !statSync(archive).isFile()) fail(`${archive} 不存在 is not a file`);
const c = config();
const dataDir = resolve(c.DATA_DIR);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

mkdirSync(dataDir, { recursive: true });
// Unpacked inside DATA_DIR: moving the result into place is then a rename on one file system.
const work = mkdtempSync(join(dataDir, '.restore-'));
let problem: string | null = null;
try {
	const t0 = performance.now();
	// node-tar refuses absolute paths and `..` in entry names (preservePaths is off): nothing lands outside `work`.
	await tar.x({ file: archive, cwd: work, strict: true });
	const manifest = readManifest(work);
	if (c.DATABASE_URL && manifest.kind !== 'postgres')
		throw new Error('这是内置数据库的备份 this backup is of the embedded database: unset DATABASE_URL to restore it into DATA_DIR');
	if (!c.DATABASE_URL && manifest.kind === 'postgres')
		throw new Error('这是 PostgreSQL 的备份 this backup is of a PostgreSQL database: set DATABASE_URL to an empty database to restore it');
	refuseIfRunning();
	const uploads = join(dataDir, 'uploads');
	if (!values.force && hasEntries(uploads)) throw new Error(`${uploads} 非空 is not empty: restore into a fresh DATA_DIR, or add --force (the old folder is kept beside it)`);
	const restored = c.DATABASE_URL ? await restorePostgres(c.DATABASE_URL, manifest) : await restoreEmbedded(manifest);
	if (manifest.uploads && existsSync(join(work, 'uploads'))) {
		if (existsSync(uploads)) renameSync(uploads, `${uploads}.before-restore-${stamp}`);
		renameSync(join(work, 'uploads'), uploads);
	}
	const photos = existsSync(uploads) ? readdirSync(uploads).length : 0;
	const s = Math.round(performance.now() - t0) / 1000;
	console.log(`恢复完成 restored: ${manifest.kind} database as of ${manifest.snapshot_at} (schema ${manifest.schema_version}), ${photos} uploaded files; ${s} s`);
	console.log(`  ${Object.entries(restored).map(([t, n]) => `${n} ${t}`).join(', ')} — same as the backup's manifest`);
	console.log('  启动 start: npm start (newer migrations apply at start)');
} catch (err) {
	problem = (err as Error).message;
} finally {
	rmSync(work, { recursive: true, force: true });
}
if (problem) fail(`恢复失败 restore failed: ${problem}`);

function readManifest(dir: string): Manifest {
	const path = join(dir, 'manifest.json');
	if (!existsSync(path)) throw new Error('不是 shudi 备份 not a shudi backup (no manifest.json)');
	const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>;
	if (m.format !== BACKUP_FORMAT || m.version !== 1) throw new Error(`不支持的备份格式 unsupported backup format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)}`);
	if ((m.kind !== 'pglite' && m.kind !== 'postgres') || typeof m.database_file !== 'string' || !/^[a-z.]+$/.test(m.database_file))
		throw new Error('备份清单损坏 the manifest is damaged (kind, database_file)');
	if (!existsSync(join(dir, m.database_file))) throw new Error(`备份不完整 the archive lacks ${m.database_file}`);
	return m as Manifest;
}

function hasEntries(dir: string): boolean {
	return existsSync(dir) && readdirSync(dir).length > 0;
}

function refuseIfRunning(): void {
	const lock = join(dataDir, 'shudi.pid');
	if (!existsSync(lock)) return;
	const pid = Number(readFileSync(lock, 'utf8'));
	try {
		process.kill(pid, 0);
	} catch {
		return;
	}
	throw new Error(`shudi (pid ${pid}) 正在运行 is running on ${dataDir}: stop it first (systemctl stop shudi)`);
}

function checkCounts(expected: RowCounts, got: RowCounts): RowCounts {
	const off = Object.keys(expected).filter((t) => got[t] !== expected[t]);
	if (off.length) throw new Error(`行数不符 row counts differ from the backup: ${off.map((t) => `${t} ${got[t]} ≠ ${expected[t]}`).join(', ')}`);
	return got;
}

async function restoreEmbedded(m: Manifest): Promise<RowCounts> {
	const target = join(dataDir, 'pgdata');
	if (!values.force && hasEntries(target)) throw new Error(`${target} 非空 holds a database: restore into a fresh DATA_DIR, or add --force (the old one is kept beside it)`);
	const staged = join(work, 'pgdata');
	const { PGlite } = await import('@electric-sql/pglite');
	const tgz = readFileSync(join(work, m.database_file));
	const loaded = await PGlite.create(staged, { loadDataDir: new Blob([tgz], { type: 'application/x-gzip' }) });
	await loaded.close();
	// Checked before anything is moved: a damaged archive never replaces a database.
	const db = await openDb({ dataDir: staged });
	let counts: RowCounts;
	try {
		counts = checkCounts(m.counts, (await countRows(db)).counts);
	} finally {
		await db.close();
	}
	if (existsSync(target)) {
		if (hasEntries(target)) renameSync(target, `${target}.before-restore-${stamp}`);
		else rmSync(target, { recursive: true });
	}
	renameSync(staged, target);
	return counts;
}

async function restorePostgres(url: string, m: Manifest): Promise<RowCounts> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		const r = await client.query<{ n: number }>(
			"SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg_toast%' AND s.nspname NOT LIKE '\\_timescaledb%' AND s.nspname NOT IN ('timescaledb_information', 'timescaledb_experimental')"
		);
		if (r.rows[0].n > 0 && !values.force)
			throw new Error(`数据库非空 the database at DATABASE_URL holds ${r.rows[0].n} tables: restore into an empty database (createdb), or add --force to drop and replace what the backup holds`);
		// TimescaleDB's documented restore: pre_restore stops its background jobs and catalog triggers while pg_restore runs.
		if (m.timescale) await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore()');
	} finally {
		await client.end();
	}
	const args = ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction'];
	if (values.force) args.push('--clean', '--if-exists');
	try {
		await runPgTool('pg_restore', [...args, join(work, m.database_file)], url);
	} finally {
		if (m.timescale) {
			const after = new pg.Client({ connectionString: url });
			await after.connect();
			await after.query('SELECT timescaledb_post_restore()').finally(() => after.end());
		}
	}
	let db: Db | undefined;
	try {
		db = await openDb({ url, poolSize: 1 });
		return checkCounts(m.counts, (await countRows(db)).counts);
	} finally {
		await db?.close();
	}
}
