// Device credentials: 256-bit random tokens shown once, stored as SHA-256. Tokens are machine-made and high-entropy,
// so a fast hash is enough (no dictionary to attack) and lets the broker look a token up on every connection;
// human passwords use argon2id instead (issue 4).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newDeviceToken(): string {
	return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
	return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenMatches(token: string, hash: string | null | undefined): boolean {
	if (!hash) return false;
	const a = Buffer.from(hashToken(token), 'hex');
	const b = Buffer.from(hash, 'hex');
	return a.length === b.length && timingSafeEqual(a, b);
}
