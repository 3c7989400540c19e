// The maps' descriptions in words (src/lib/map-descriptions.ts) say what MapLibre rendered — per layer, per sensor,
// per cluster with its members — and nothing the canvas lacks. The map here is a stand-in answering the three calls
// the descriptions make (getLayer, queryRenderedFeatures, getSource().getClusterLeaves).
import { describe, expect, it } from 'vitest';
import type * as maplibregl from 'maplibre-gl';
import { describeAdminMap, describeTownshipMap } from '../../src/lib/map-descriptions';

type Rendered = Record<string, { id?: number | string; properties: Record<string, unknown>; state?: Record<string, unknown> }[]>;

function fakeMap(rendered: Rendered, leaves: Record<number, { id: string; name: string }[]> = {}): maplibregl.Map {
	const map = {
		getLayer: (id: string) => (id in rendered ? { id } : undefined),
		queryRenderedFeatures: (opts: { layers: string[] }) => {
			for (const l of opts.layers) if (!(l in rendered)) throw new Error(`queried a missing layer ${l}`);
			return opts.layers.flatMap((l) => rendered[l].map((f) => ({ state: {}, geometry: { type: 'Point', coordinates: [0, 0] }, ...f })));
		},
		getSource: (id: string) => (id === 'sensors' ? { getClusterLeaves: async (c: number) => (leaves[c] ?? []).map((p) => ({ properties: p })) } : undefined)
	};
	return map as unknown as maplibregl.Map;
}

describe('describeTownshipMap', () => {
	it('counts what is drawn: villages, single sensors by their painted status, clusters with members, cases', async () => {
		const sut = await describeTownshipMap(
			fakeMap(
				{
					'village-fill': [
						{ id: 1, properties: { id: 1, name: '松林村' }, state: { level: 'red' } },
						// The same village again from a neighbouring tile: counted once.
						{ id: 1, properties: { id: 1, name: '松林村' }, state: { level: 'red' } },
						{ id: 2, properties: { id: 2, name: '东岭村' }, state: { level: 'normal' } }
					],
					'township-fill': [{ id: 0, properties: { kind: 'township' } }],
					'river-line': [{ properties: { name: '清水河' } }],
					// A live change arrives as feature-state before the property: the painted colour is the state's.
					'sensor-symbols': [
						{ properties: { id: 'RL-01', name: '松林河水位', status: 'normal' }, state: { status: 'red' } },
						{ properties: { id: 'RG-02', name: '雨量站', status: 'normal' } }
					],
					'sensor-clusters': [{ properties: { cluster_id: 7, point_count: 3, worst: 0 } }],
					'incident-markers': [{ properties: { id: 12, level: 'orange' } }]
				},
				{ 7: [{ id: 'A', name: 'a' }, { id: 'B', name: 'b' }, { id: 'C', name: 'c' }] }
			)
		);
		expect(sut.data).toEqual({ villages: 2, sensors: 5, singles: 2, clusters: 1, cases: 1, rivers: 1, township: 1 });
		expect(sut.items).toContainEqual({ text: '松林河水位（RL-01）：红色', data: { sensor: 'RL-01', status: 'red' } });
		expect(sut.items).toContainEqual(expect.objectContaining({ data: { sensor: 'RG-02', status: 'normal' } }));
		expect(sut.items).toContainEqual(expect.objectContaining({ data: { cluster: 3, worst: 'normal', members: 'A B C' } }));
		expect(sut.items).toContainEqual(expect.objectContaining({ data: { case: 12, level: 'orange' } }));
		// A village without an alarm is not called "normal": no reading says it is safe.
		expect(sut.items).toContainEqual({ text: '东岭村', data: { village: '东岭村' } });
		expect(sut.items).toContainEqual({ text: '松林村：红色', data: { village: '松林村', level: 'red' } });
		expect(sut.text).toContain('5 个监测点');
		expect(sut.text).toContain('红色 1');
	});

	it('says an empty map is empty, and queries no layer the style lacks (the basemap and optional layers come and go)', async () => {
		const sut = await describeTownshipMap(fakeMap({ 'village-fill': [] }));
		expect(sut.data).toEqual({ villages: 0, sensors: 0, singles: 0, clusters: 0, cases: 0, rivers: 0, township: 0 });
		expect(sut.items).toEqual([]);
	});
});

describe('describeAdminMap', () => {
	it('lists the previewed boundaries and the points with their kind', () => {
		const sut = describeAdminMap(
			fakeMap({
				'current-village-fill': [{ properties: { name: '松林村' } }],
				'preview-fill': [{ properties: { name: '东岭村' } }, { properties: { name: '西坡村' } }],
				'point-dots': [{ properties: { kind: 'device', id: 'RL-NEW1' } }, { properties: { kind: 'error' } }]
			})
		);
		expect(sut.data).toEqual({ villages: 1, preview: 2, points: 2 });
		expect(sut.items).toContainEqual({ text: '预览边界：东岭村', data: { preview: '东岭村' } });
		expect(sut.items).toContainEqual({ text: '设备 RL-NEW1', data: { point: 'device', id: 'RL-NEW1' } });
		expect(sut.items).toContainEqual({ text: '错误位置', data: { point: 'error' } });
	});
});
