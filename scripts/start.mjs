#!/usr/bin/env node
// `npm start`: builds the web app when the build is missing or older than the sources, then runs it. One process
// runs everything by default (embedded database and broker, ingest, web, simulator); `--role web` runs only the web
// part against DATABASE_URL / MQTT_URL; `--no-build` runs the build as it is (a deployment that builds elsewhere).
// Configuration errors and a busy port are printed as one line, not a trace.
//
// The terminal gets a few human lines; the build's own output goes to DATA_DIR/logs/build.log and is printed only
// when the build fails. SIGINT/SIGTERM (Ctrl+C, a service manager's stop) are passed to the server, and this process
// exits when it has: the server bounds its own stop by SHUTDOWN_TIMEOUT, and is killed outright if it overruns.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync, readdirSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join, dirname, resolve, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const roleIdx = args.indexOf('--role');
const role = roleIdx >= 0 ? args[roleIdx + 1] : process.env.SHUDI_ROLE;
const dataDir = resolve(root, process.env.DATA_DIR || 'data');

function newest(path) {
	if (!existsSync(path)) return 0;
	const st = statSync(path);
	if (!st.isDirectory()) return st.mtimeMs;
	let t = 0;
	for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
	return t;
}

/** A path as a person would type it from here: relative inside the current directory, absolute outside it. */
function shortPath(p) {
	const r = relative(process.cwd(), p);
	return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

const marker = join(root, 'build', 'handler.js');
const sources = ['src', 'geo', 'ingest', 'static', 'package.json', 'svelte.config.js', 'vite.config.ts'].map((p) => join(root, p));
const stale = !existsSync(marker) || Math.max(...sources.map(newest)) > statSync(marker).mtimeMs;

console.log('属地 shudi 正在启动 starting…');
if (stale && args.includes('--no-build')) {
	if (!existsSync(marker)) {
		console.error('shudi: cannot start: build/ is missing (--no-build); run npm run build first');
		process.exit(1);
	}
} else if (stale) {
	const logDir = join(dataDir, 'logs');
	mkdirSync(logDir, { recursive: true });
	const logPath = join(logDir, 'build.log');
	console.log(`  构建网页应用 Building the web app (首次约半分钟 first start: about half a minute); 日志 log: ${shortPath(logPath)}`);
	const fd = openSync(logPath, 'w');
	// The log is read by people and tools, not a terminal: no colour codes in it.
	const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
		cwd: root,
		stdio: ['ignore', fd, fd],
		env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
	});
	closeSync(fd);
	if (r.status !== 0) {
		const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
		console.error(`${tail}\n\nshudi: 构建失败 build failed (${r.signal ?? `exit ${r.status}`}); 完整日志 full log: ${shortPath(logPath)}`);
		process.exit(r.status ?? 1);
	}
}

const env = { ...process.env };
if (role) env.SHUDI_ROLE = role;
// An IPC channel as well: the server stops by itself if this process is killed outright (scripts/serve.mjs).
const child = spawn(process.execPath, [join(root, 'scripts', 'serve.mjs')], { cwd: root, env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
const graceMs = (Number(process.env.SHUTDOWN_TIMEOUT || 10) + 5) * 1000;
let killer;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(sig, () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		child.kill(sig === 'SIGHUP' ? 'SIGTERM' : sig);
		killer ??= setTimeout(() => {
			console.error(`shudi: the server did not stop within ${graceMs / 1000} s; killing it`);
			child.kill('SIGKILL');
		}, graceMs);
	});
}
child.on('exit', (code, signal) => {
	clearTimeout(killer);
	process.exit(code ?? (signal ? 1 : 0));
});
