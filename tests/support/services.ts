// Test services: the embedded database and broker by default; real PostgreSQL / Mosquitto when TEST_DATABASE_URL /
// TEST_MQTT_URL are set (CI runs the suite both ways). Each call makes a fresh, isolated database.
import { createDatabase } from '../../scripts/scratch-db';
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../../src/lib/server/platform/db';
import { migrate } from '../../src/lib/server/platform/migrate';

export const REAL_DB = process.env.TEST_DATABASE_URL;
export const REAL_MQTT = process.env.TEST_MQTT_URL;

export interface TestDb {
	db: Db;
	/** A connection URL for a second process, when the database is a real server. */
	url?: string;
	drop(): Promise<void>;
}

/** A fresh migrated database: a new PostgreSQL database on the real server, or an in-memory PGlite. */
export async function freshDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
	let db: Db;
	let url: string | undefined;
	let dropDb = async () => {};
	if (REAL_DB) {
		const scratch = await createDatabase(REAL_DB, 'shudi_t');
		url = scratch.url;
		db = await openDb({ url, poolSize: 4 });
		dropDb = scratch.drop;
	} else {
		db = await openDb({});
	}
	if (opts.migrate !== false) await migrate(db);
	return {
		db,
		url,
		async drop() {
			await db.close();
			await dropDb();
		}
	};
}

export function uniq(prefix: string): string {
	return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5000, everyMs = 50): Promise<T> {
	const t0 = Date.now();
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, everyMs));
	}
}
