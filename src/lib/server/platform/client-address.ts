// The client's address for throttles and records. From the socket (adapter-node's getClientAddress()), unless
// TRUST_PROXY says a reverse proxy stands in front: then the socket is the proxy, and the client is the rightmost
// X-Forwarded-For entry — the address that proxy itself saw. Entries further left are written by the client or by
// proxies nobody here vouches for, so they are never believed (MDN, X-Forwarded-For "Security and privacy concerns").
// One trusted proxy is assumed (nginx or Caddy on the same host, README "Behind a reverse proxy").
import { isIP } from 'node:net';

export interface AddressSource {
	request: Request;
	getClientAddress(): string;
}

/** The client address, or null when neither the socket nor a trusted proxy tells it. IPv4-mapped IPv6 is unwrapped. */
export function clientAddress(event: AddressSource, trustProxy: boolean): string | null {
	if (trustProxy) {
		const hops = (event.request.headers.get('x-forwarded-for') ?? '').split(',');
		const nearest = normalise(hops[hops.length - 1]);
		if (nearest) return nearest;
	}
	try {
		return normalise(event.getClientAddress());
	} catch {
		return null;
	}
}

function normalise(raw: string | undefined): string | null {
	const s = (raw ?? '').trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
	return isIP(s) ? s.toLowerCase() : null;
}
