// Structured logging (pino: JSON lines, cheap enough for the ingest hot path). One root logger per process;
// modules take a child with their own `mod` field so an operator can filter by part.
// Format follows pino's convention: JSON for machines (a service manager, a log shipper, a pipe), pino-pretty for a
// person at a terminal. LOG_FORMAT=pretty|json overrides the guess from whether stdout is a terminal.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

let root: Logger | undefined;

export type LogFormat = 'pretty' | 'json';

/** The log format for this process: LOG_FORMAT when set, else pretty on a terminal and JSON otherwise. */
export function logFormat(env: Record<string, string | undefined> = process.env, isTTY = process.stdout.isTTY === true): LogFormat {
	const f = env.LOG_FORMAT;
	if (f === 'pretty' || f === 'json') return f;
	return isTTY ? 'pretty' : 'json';
}

export function rootLogger(level?: string): Logger {
	if (root) return root;
	const opts = { level: level ?? process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } };
	// In-process and synchronous rather than a worker transport: a person's terminal sees few lines, and a line
	// written just before process.exit (a start-up failure, the end of a shutdown) is never lost.
	root =
		logFormat() === 'pretty'
			? pino(opts, PinoPretty({
						sync: true,
						colorize: process.stdout.isTTY === true,
						singleLine: true,
						ignore: 'pid,hostname,mod',
						messageFormat: '{if mod}{mod}: {end}{msg}',
						translateTime: 'SYS:HH:MM:ss'
					}))
			: pino(opts);
	return root;
}

export function logger(mod: string): Logger {
	return rootLogger().child({ mod });
}

export type { Logger };
