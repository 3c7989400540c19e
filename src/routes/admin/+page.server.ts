// Admin home: the admin area starts at the device registry.
import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

export const load = (() => redirect(303, '/admin/devices')) satisfies PageServerLoad;
