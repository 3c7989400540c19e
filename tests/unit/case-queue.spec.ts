// The console's queue state: figures only from the server's counts; a failed read says so (never zeros); stale
// figures are marked; paging clamps to the cases that exist; louder alarms are told apart.
import { describe, expect, it, vi } from 'vitest';
import { CaseQueue, louder, type QueuePage } from '../../src/lib/case-queue.svelte';
import type { IncidentCounts } from '../../src/lib/server/cases/incident-queries';

const counts = (over: Partial<IncidentCounts['by_level']> = {}, total = 0): IncidentCounts => ({
	total,
	by_level: { red: 0, orange: 0, yellow: 0, blue: 0, none: 0, ...over },
	overdue: 0,
	unacknowledged: 0,
	by_village: []
});
const pageOf = (total: number, offset: number, n: number): QueuePage => ({
	items: Array.from({ length: n }, (_, i) => ({ id: offset + i + 1 }) as QueuePage['items'][number]),
	total,
	offset,
	limit: 50,
	counts: counts({ blue: total }, total)
});
const ok = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

describe('CaseQueue', () => {
	it('says it failed, with no figures, when the first read fails — never zeros', async () => {
		vi.useFakeTimers();
		const sut = new CaseQueue(async () => new Response('boom', { status: 500 }));
		expect(sut.state).toBe('loading');
		await sut.refresh();
		expect(sut.state).toBe('failed');
		expect(sut.counts).toBeNull();
		sut.stop();
		vi.useRealTimers();
	});

	it('keeps the last figures but marks them stale when a later read fails, and retries', async () => {
		vi.useFakeTimers();
		const fetcher = vi.fn(async () => new Response('down', { status: 503 }));
		const sut = new CaseQueue(fetcher, pageOf(501, 0, 50));
		expect(sut.state).toBe('loaded');
		await sut.refresh();
		expect(sut.state).toBe('stale');
		expect(sut.counts!.total).toBe(501);
		fetcher.mockImplementation(async () => ok(pageOf(502, 0, 50)));
		await vi.advanceTimersByTimeAsync(6000);
		expect(sut.state).toBe('loaded');
		expect(sut.counts!.total).toBe(502);
		sut.stop();
		vi.useRealTimers();
	});

	it('pages by the server’s total, and goes back to the last page when cases closed under it', async () => {
		const asked: string[] = [];
		let total = 501;
		const sut = new CaseQueue(async (url) => {
			asked.push(url);
			const offset = Number(new URL(url, 'http://x').searchParams.get('offset'));
			return ok(pageOf(total, offset, Math.max(0, Math.min(50, total - offset))));
		}, pageOf(501, 0, 50));
		expect(sut.pages).toBe(11);
		await sut.goto(11);
		expect(sut.offset).toBe(500);
		expect(sut.items.map((c) => c.id)).toEqual([501]);
		total = 450;
		await sut.refresh();
		expect(sut.offset).toBe(400);
		expect(sut.page).toBe(9);
		expect(sut.pages).toBe(9);
		expect(asked.at(-1)).toContain('offset=400');
		expect(asked.every((u) => u.includes('counts=true') && u.includes('status=open'))).toBe(true);
	});

	it.each([
		[counts({ red: 1 }), counts({ red: 2 }), 'red'],
		[counts({ red: 1, orange: 1 }), counts({ red: 1, orange: 2 }), 'orange'],
		[counts({ red: 2 }), counts({ red: 1, orange: 0 }), null],
		[null, counts({ red: 5 }), null]
	])('louder(%j → %j) = %s', (a, b, want) => {
		expect(louder(a, b)).toBe(want);
	});
});
