// Sensors as a GeoJSON FeatureCollection: id, name, kind, village_id, status, last_seen and latest values.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { sensorsGeoJSON } from '$lib/server/queries';

export const GET: RequestHandler = async () => json(await sensorsGeoJSON((await runtime()).db));
