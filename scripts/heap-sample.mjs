// Allocation profile of a node process, for finding what the garbage collector is paid for: preload it with
// `--import ./scripts/heap-sample.mjs` (for the ingest under `npm run bench:ingest`: --ingest-node-args="--max-old-space-size=256
// --max-semi-space-size=32 --import ./scripts/heap-sample.mjs"). V8's sampling heap profiler, keeping the samples of
// objects already collected (node's own --heap-prof drops them, so it shows what is live, not what was allocated),
// written at exit to $HEAP_SAMPLE_DIR (default the working directory) as alloc-<pid>.heapprofile — open it in
// Chrome DevTools (Memory tab) or sum selfSize per call frame. Sampling every 16 KiB costs a few per cent of CPU.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
process.on('exit', () => {
	// The in-process session answers synchronously, so this still runs inside the exit handler.
	session.post('HeapProfiler.stopSampling', (err, r) => {
		if (err) return console.error(`heap-sample: ${err.message}`);
		writeFileSync(join(process.env.HEAP_SAMPLE_DIR ?? '.', `alloc-${process.pid}.heapprofile`), JSON.stringify(r.profile));
	});
});
