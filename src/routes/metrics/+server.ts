// Prometheus scrape endpoint: ingest counters, batch histograms, buffer depth, devices by status.
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';

export const GET: RequestHandler = async () => {
	const rt = await runtime();
	return new Response(await rt.metrics.render(), { headers: { 'Content-Type': rt.metrics.registry.contentType } });
};
