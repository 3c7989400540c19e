// Locates the project root (the folder with migrations/ and package.json) from wherever this module runs:
// the source tree under tsx/vitest, or the bundled build/ of the web app.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function projectRoot(): string {
	if (root) return root;
	for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
		let dir = resolve(start);
		for (;;) {
			if (existsSync(join(dir, 'migrations')) && existsSync(join(dir, 'package.json'))) return (root = dir);
			const up = dirname(dir);
			if (up === dir) break;
			dir = up;
		}
	}
	throw new Error('cannot find the shudi project root (a folder with migrations/ and package.json)');
}
