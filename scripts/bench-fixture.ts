// Seeds the benchmark fixture (scripts/lib/fixture.ts: the demo township with 10,000 sensors and a year of readings)
// into a data directory or database, e.g. to look at it with `DATA_DIR=DIR npm start`:
//
//   npx tsx scripts/bench-fixture.ts --data-dir /tmp/shudi-bench      # embedded PGlite under <dir>/pgdata
//   DATABASE_URL=postgres://… npx tsx scripts/bench-fixture.ts        # an existing, empty, database
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { rootLogger } from '../src/lib/server/platform/log.js';
import { buildBenchFixture, openBenchDb, summarise } from './lib/fixture.js';

const { values: args } = parseArgs({
	options: { 'data-dir': { type: 'string' }, sensors: { type: 'string', default: '10000' }, 'year-interval': { type: 'string', default: '300' } }
});
rootLogger(process.env.LOG_LEVEL ?? 'warn');
const url = process.env.DATABASE_URL || undefined;
if (!url && !args['data-dir']) throw new Error('give --data-dir DIR (embedded) or DATABASE_URL');
const db = await openBenchDb({ url, dataDir: args['data-dir'] ? join(args['data-dir'], 'pgdata') : undefined });
try {
	console.log(summarise(await buildBenchFixture(db, { sensors: Number(args.sensors), yearIntervalS: Number(args['year-interval']) })));
} finally {
	await db.close();
}
