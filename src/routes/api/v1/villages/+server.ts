// Village boundaries as a GeoJSON FeatureCollection.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { villagesGeoJSON } from '$lib/server/queries';

export const GET: RequestHandler = async () => json(await villagesGeoJSON((await runtime()).db));
