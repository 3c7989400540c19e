#!/usr/bin/env node
// `npm start`: builds the web app when the build is missing or older than the sources, then runs it. One process
// runs everything by default (embedded database and broker, ingest, web, simulator); `--role web` runs only the web
// part against DATABASE_URL / MQTT_URL. Configuration errors and a busy port are printed as one line, not a trace.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const roleIdx = args.indexOf('--role');
const role = roleIdx >= 0 ? args[roleIdx + 1] : process.env.SHUDI_ROLE;

function newest(dir) {
	let t = 0;
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
	}
	return t;
}

const marker = join(root, 'build', 'handler.js');
const stale =
	!existsSync(marker) ||
	Math.max(newest(join(root, 'src')), newest(join(root, 'geo')), newest(join(root, 'ingest')), statSync(join(root, 'package.json')).mtimeMs) > statSync(marker).mtimeMs;
if (stale) {
	console.log('shudi: building the web app (first start takes about half a minute)…');
	const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
	if (r.status !== 0) process.exit(r.status ?? 1);
}

const env = { ...process.env };
if (role) env.SHUDI_ROLE = role;
const child = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs')], { cwd: root, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
