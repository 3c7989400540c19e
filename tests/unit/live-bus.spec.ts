// The live bus's log: what a console that read the list at cursor N, or dropped its stream after event N, is given
// when it (re)connects — every event after N, in order, or null when that cannot be promised (it then resyncs).
import { describe, expect, it } from 'vitest';
import { LiveBus, type SensorUpdate } from '../../src/lib/server/live/events';

const upd = (id: string): SensorUpdate => ({ id, last_seen: '2026-11-26T00:00:00.000Z', values: {} });

function bus(limits: Partial<{ maxItems: number; maxAgeMs: number; listGraceMs: number }> = {}) {
	let t = 1_000_000;
	const b = new LiveBus({ maxItems: 100, maxAgeMs: 60_000, listGraceMs: 10_000, ...limits }, () => t);
	return { b, advance: (ms: number) => (t += ms) };
}

describe('LiveBus log', () => {
	it('gives every event after a cursor, in order, with the cursor each listener saw', () => {
		const { b } = bus();
		const seen: string[] = [];
		b.on('status', () => seen.push(b.cursor()));
		b.emit('status', { id: 'A', status: 'red', at: 't1' });
		const listCursor = b.listServed();
		b.emit('sensors', [upd('B')]);
		b.emit('status', { id: 'A', status: 'normal', at: 't2' });
		b.emit('incident', { id: 7, type: 'incident.opened' });
		const after = b.since(listCursor)!;
		expect(after.map((e) => e.event)).toEqual(['sensors', 'status', 'incident']);
		expect(after.map((e) => e.data)).toEqual([[upd('B')], { id: 'A', status: 'normal', at: 't2' }, { id: 7, type: 'incident.opened' }]);
		// The ids a stream sends are the ones since() counts from: resuming from the 2nd status gives only what followed.
		expect(seen).toHaveLength(2);
		expect(b.since(seen[1])!.map((e) => e.event)).toEqual(['incident']);
		expect(b.since(b.cursor())).toEqual([]);
	});

	it('gives a listener its own event’s cursor even when an earlier listener emitted another event', () => {
		const { b } = bus();
		const seen: string[] = [];
		b.on('sensors', () => b.emit('status', { id: 'A', status: 'red', at: 't' }));
		b.on('sensors', () => seen.push(`sensors ${b.cursor()}`));
		b.on('status', () => seen.push(`status ${b.cursor()}`));
		b.emit('sensors', [upd('A')]);
		expect(seen).toEqual([`status ${b.epoch}.2`, `sensors ${b.epoch}.1`]);
		expect(b.cursor()).toBe(`${b.epoch}.2`);
	});

	it('does not log the shutdown signal', () => {
		const { b } = bus();
		const c = b.cursor();
		b.emit('shutdown');
		expect(b.since(c)).toEqual([]);
		expect(b.cursor()).toBe(c);
	});

	it.each([
		['another process or an earlier run', () => 'other.0'],
		['a malformed cursor', () => 'nonsense'],
		['no cursor', () => null],
		['a cursor from the future', (b: LiveBus) => `${b.epoch}.99`],
		['an injected one', (b: LiveBus) => `${b.epoch}.1\nevent: x`]
	])('cannot serve %s (null: resync)', (_what, cursor) => {
		const { b } = bus();
		b.emit('status', { id: 'A', status: 'red', at: 't' });
		expect(b.since(cursor(b))).toBeNull();
	});

	it('forgets the oldest events past its size and cannot serve a cursor older than what it keeps', () => {
		const { b } = bus({ maxItems: 5 });
		const start = b.cursor();
		b.emit('sensors', [upd('A'), upd('B'), upd('C')]);
		const mid = b.cursor();
		b.emit('sensors', [upd('D'), upd('E')]);
		expect(b.since(start)!.length).toBe(2); // 5 updates: both kept
		b.emit('status', { id: 'F', status: 'red', at: 't' }); // 6 > 5: the first batch goes
		expect(b.since(start)).toBeNull();
		expect(b.since(mid)!.map((e) => e.event)).toEqual(['sensors', 'status']);
	});

	it('keeps no more than about its size reachable when each event is a large batch', () => {
		// An ingest emits one event per batch of ~1,000 sensors; forgotten batches must not stay reachable.
		const { b } = bus({ maxItems: 5_000 });
		for (let i = 0; i < 300; i++) b.emit('sensors', Array.from({ length: 1000 }, (_, k) => upd(`D${k}`)));
		expect(b.heldItems).toBeLessThanOrEqual(2 * 5_000);
		for (let i = 0; i < 300; i++) b.emit('status', { id: 'A', status: 'red', at: 't' });
		expect(b.heldItems).toBeLessThanOrEqual(2 * 5_000);
		// Batches, then many single status events: the forgotten batches go even though they are few entries.
		let peak = 0;
		for (let i = 0; i < 20; i++) b.emit('sensors', Array.from({ length: 1000 }, (_, k) => upd(`D${k}`)));
		for (let i = 0; i < 20_000; i++) {
			b.emit('status', { id: 'A', status: 'red', at: 't' });
			peak = Math.max(peak, b.heldItems);
		}
		expect(peak).toBeLessThanOrEqual(2 * 5_000 + 1);
		expect(b.since(b.cursor())).toEqual([]);
	});

	it('forgets events older than its age limit', () => {
		const { b, advance } = bus({ maxAgeMs: 1000 });
		const start = b.cursor();
		b.emit('status', { id: 'A', status: 'red', at: 't' });
		advance(500);
		const mid = b.cursor();
		b.emit('status', { id: 'A', status: 'normal', at: 't' });
		advance(600);
		expect(b.since(start)).toBeNull();
		expect(b.since(mid)!.length).toBe(1);
		advance(1000);
		expect(b.since(mid)).toBeNull();
		// Nothing kept, nothing missed: the newest cursor is still fine.
		expect(b.since(b.cursor())).toEqual([]);
	});

	it('wants events while a stream listens or a list was just served, and a skipped event breaks every older cursor', () => {
		const { b, advance } = bus({ listGraceMs: 1000 });
		expect(b.wanted('sensors')).toBe(false);
		const c = b.listServed();
		expect(b.wanted('sensors')).toBe(true);
		advance(1001);
		expect(b.wanted('sensors')).toBe(false);
		// A producer skipped building an event nobody wanted: a reader still holding c would miss it.
		b.gap();
		expect(b.since(c)).toBeNull();
		expect(b.since(b.cursor())).toEqual([]);
		const on = () => {};
		b.on('sensors', on);
		expect(b.wanted('sensors')).toBe(true);
		b.off('sensors', on);
	});
});
