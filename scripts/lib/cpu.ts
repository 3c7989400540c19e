// CPU accounting per process for `npm run bench:ingest`: where the two cores go, by component.
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100 on Linux)
	} catch {
		return 0;
	}
}

/**
 * The PostgreSQL server processes working for this run: the backends connected to the bench's database and the
 * server's own background processes (WAL writer, checkpointer, autovacuum …). Backends of other databases (other
 * work on a shared machine) are left out.
 */
export async function postgresPids(pool: Pool): Promise<number[]> {
	const r = await pool.query<{ pid: number }>(
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'`
	);
	return r.rows.map((x) => x.pid);
}
