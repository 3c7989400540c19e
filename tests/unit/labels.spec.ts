// The label catalogue: every id the interface names has a Chinese and an English label, and an id without one is
// shown marked, never passed off as a name (STYLE.md habit 10).
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
	ASSIGNMENT_ROLES,
	CASE_CATEGORIES,
	CASE_EVENTS,
	CATALOGUE,
	DEVICE_EVENTS,
	DUTY_ROLES,
	label,
	type Catalogue
} from '../../src/lib/domain/labels';
import { SENSOR_KINDS } from '../../src/lib/domain/types';
import { LEVELS, SENSOR_STATUSES } from '../../src/lib/domain/levels';
import { INCIDENT_ACTIONS, INCIDENT_STATUSES } from '../../src/lib/domain/incident-flow';

/** The ids each table must name: the domain's own lists, not the table's keys. */
const MUST_NAME: Record<Exclude<Catalogue, 'ui'>, readonly string[]> = {
	kind: SENSOR_KINDS,
	status: SENSOR_STATUSES,
	case_level: [...LEVELS, 'none'],
	role: [...ASSIGNMENT_ROLES, ...DUTY_ROLES],
	case_status: INCIDENT_STATUSES,
	category: CASE_CATEGORIES,
	action: [...INCIDENT_ACTIONS, ...CASE_EVENTS],
	device_event: DEVICE_EVENTS
};

afterEach(() => vi.restoreAllMocks());

describe('label catalogue', () => {
	it.each(Object.entries(MUST_NAME))('%s: every id has a Chinese and an English label, and nothing else is listed', (catalogue, ids) => {
		const table = CATALOGUE[catalogue as Catalogue] as Record<string, { zh: string; en: string }>;
		for (const id of ids) {
			expect(table[id]?.zh, `${catalogue}.${id}.zh`).toMatch(/\p{Script=Han}/u);
			expect(table[id]?.en, `${catalogue}.${id}.en`).toMatch(/[A-Za-z]/);
			expect(label(catalogue as Catalogue, id, 'zh')).toBe(table[id].zh);
			expect(label(catalogue as Catalogue, id, 'en')).toBe(table[id].en);
		}
		expect(Object.keys(table).sort()).toEqual([...new Set(ids)].sort());
	});

	it('every interface string has both languages, and placeholders agree between them', () => {
		for (const [key, l] of Object.entries(CATALOGUE.ui) as [string, { zh: string; en: string }][]) {
			expect(l.zh.trim(), key).not.toBe('');
			expect(l.en.trim(), key).not.toBe('');
			expect(l.zh.match(/\{\w+\}/g)?.sort() ?? [], key).toEqual(l.en.match(/\{\w+\}/g)?.sort() ?? []);
		}
	});

	it('the same id reads the same in every page: one lookup, language chosen by the caller', () => {
		expect(label('category', 'flood', 'zh')).toBe('汛情');
		expect(label('category', 'flood', 'en')).toBe('Flood');
		expect(label('role', 'duty_leader', 'zh')).toBe('值班领导');
		expect(label('status', 'unknown', 'en')).toBe('Never reported');
		expect(label('device_event', 'thresholds_changed', 'zh')).toBe('阈值修改');
	});

	it('nothing to name is a dash; an id no table knows is shown marked and reported once, never as a bare id', () => {
		const warn = vi.spyOn(console, 'error').mockImplementation(() => undefined);
		expect(label('category', null, 'zh')).toBe('—');
		expect(label('category', 'landslide', 'zh')).toBe('「landslide?」');
		expect(label('category', 'landslide', 'en')).toBe('「landslide?」');
		expect(warn).toHaveBeenCalledTimes(1);
		expect(warn.mock.calls[0][0]).toContain('category.landslide');
		// Inherited object keys are not labels.
		expect(label('role', 'toString', 'zh')).toBe('「toString?」');
	});
});
