// Shared by scripts/backup.ts and scripts/restore.ts: the archive's manifest and how pg_dump / pg_restore are run.
import { spawn } from 'node:child_process';
import type { Snapshot } from '../../src/lib/server/platform/backup.js';

export const BACKUP_FORMAT = 'shudi-backup';

export interface Manifest extends Snapshot {
	format: typeof BACKUP_FORMAT;
	version: 1;
	/** Which engine the database part is for: a PGlite data directory or a pg_dump custom-format file. */
	kind: 'pglite' | 'postgres';
	created_at: string;
	/** The database part's name inside the archive. */
	database_file: string;
	/** The dumped database had the timescaledb extension (its restore brackets pg_restore with pre/post_restore). */
	timescale: boolean;
	/** The archive holds an uploads/ folder. */
	uploads: boolean;
}

/** The URL without its password (libpq reads that from PGPASSWORD), so it never shows in the process list. */
export function libpq(url: string): { dbname: string; env: Record<string, string> } {
	const u = new URL(url);
	const env: Record<string, string> = {};
	if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
	u.password = '';
	return { dbname: u.toString(), env };
}

/** Runs pg_dump / pg_restore against `url`; rejects with the tool's own last words when it fails. */
export function runPgTool(cmd: 'pg_dump' | 'pg_restore', args: string[], url: string): Promise<void> {
	const { dbname, env } = libpq(url);
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, [...args, `--dbname=${dbname}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] });
		let stderr = '';
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		child.on('error', (err) =>
			reject(new Error((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} 未安装 is not installed (Debian: apt install postgresql-client)` : err.message))
		);
		child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${stderr.trim().slice(-2000)}`))));
	});
}
