// A scratch database on a real PostgreSQL server, for a test or a benchmark: created beside the server's others under
// a random name, and dropped WITH (FORCE) when done, so a connection left open cannot keep it. tests/support/services.ts
// (freshDb) and every benchmark that takes a PostgreSQL URL make theirs here, one way for all.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabase {
	/** `adminUrl` with the scratch database's name as its path. */
	url: string;
	drop(): Promise<void>;
}

/** Creates `<prefix>_<10 hex digits>` through `adminUrl` (a role allowed to CREATE DATABASE). */
export async function createDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
	const name = `${prefix}_${randomBytes(5).toString('hex')}`;
	await asAdmin(adminUrl, `CREATE DATABASE ${name}`);
	const u = new URL(adminUrl);
	u.pathname = '/' + name;
	return { url: u.toString(), drop: () => asAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function asAdmin(adminUrl: string, sql: string): Promise<void> {
	const admin = new pg.Client({ connectionString: adminUrl });
	await admin.connect();
	try {
		await admin.query(sql);
	} finally {
		await admin.end();
	}
}
