// Structured logging (pino: JSON lines, cheap enough for the ingest hot path). One root logger per process;
// modules take a child with their own `mod` field so an operator can filter by part.
import { pino, type Logger } from 'pino';

let root: Logger | undefined;

export function rootLogger(level?: string): Logger {
	root ??= pino({ level: level ?? process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } });
	return root;
}

export function logger(mod: string): Logger {
	return rootLogger().child({ mod });
}

export type { Logger };
