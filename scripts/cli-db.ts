// Shared by the command-line tools: open the configured database (DATABASE_URL or the embedded one under DATA_DIR)
// with migrations applied. The embedded database belongs to one process at a time: refuse while `npm start` runs.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config } from '../src/lib/server/platform/config.js';
import { openDb, type Db } from '../src/lib/server/platform/db.js';
import { migrate } from '../src/lib/server/platform/migrate.js';
import { rootLogger } from '../src/lib/server/platform/log.js';

export async function openCliDb(): Promise<Db> {
	try {
		return await open();
	} catch (err) {
		fail((err as Error).message);
	}
}

async function open(): Promise<Db> {
	const c = config();
	rootLogger('warn');
	if (!c.DATABASE_URL) {
		const dir = join(resolve(c.DATA_DIR), 'pgdata');
		const lock = join(resolve(c.DATA_DIR), 'shudi.pid');
		if (existsSync(lock)) {
			const pid = Number(readFileSync(lock, 'utf8'));
			let alive = false;
			try {
				process.kill(pid, 0);
				alive = true;
			} catch {
				alive = false;
			}
			if (alive) fail(`the embedded database in ${dir} is in use by shudi (pid ${pid}); stop it first, or use DATABASE_URL`);
		}
		const db = await openDb({ dataDir: dir });
		await migrate(db);
		return db;
	}
	const db = await openDb({ url: c.DATABASE_URL });
	await migrate(db);
	return db;
}

export function fail(msg: string): never {
	console.error(`error: ${msg}`);
	process.exit(2);
}
