// The worker entry of ./heavy-work.ts where there is no build (vitest, tsx scripts, `vite dev`): loads the TypeScript
// entry through tsx's API, because Node 20 does not carry a loader registered on the main thread into worker threads.
import { tsImport } from 'tsx/esm/api';

const entry = await tsImport('./heavy-work-worker.ts', import.meta.url);
export default entry.default;
