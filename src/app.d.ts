// See https://svelte.dev/docs/kit/types#app.d.ts
import type { SessionUser, ApiScope } from '$lib/server/people/auth';

declare global {
	namespace App {
		interface Error {
			message: string;
			id?: string;
		}
		interface Locals {
			user: SessionUser | null;
			apiToken: { id: number; name: string; scopes: ApiScope[] } | null;
			sessionToken: string | undefined;
		}
	}
}

export {};
