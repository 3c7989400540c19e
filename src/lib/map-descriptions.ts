// What each map has drawn in its current view, in words (MapSummary.svelte shows it to assistive technology). Read
// from MapLibre's rendered features, never from the data the page meant to draw, so the words cannot claim what
// the canvas lacks. Layer ids are those of TownshipMap.svelte and AdminMap.svelte.
import type * as maplibregl from 'maplibre-gl';
import { RANK_STATUS } from '$lib/map-symbols';
import { STATUSES_WORST_FIRST } from '$lib/domain/levels';
import { i18n } from '$lib/i18n.svelte';

/** One thing on the map, in words, with its data attributes (without the `data-` prefix). */
export interface MapItem {
	text: string;
	data?: Record<string, string | number>;
}
export interface MapDescription {
	/** One sentence: what the view holds. */
	text: string;
	/** The things drawn, one by one (sensors, clusters, cases, points …). */
	items?: MapItem[];
	/** Figures of the whole view (counts per layer), as data attributes on the region. */
	data?: Record<string, string | number>;
}

/** A list that long is no longer read by anyone; the sentence still gives the counts. */
const MAX_ITEMS = 200;
/** Members are listed for this many clusters at most (each costs a round trip to MapLibre's worker). */
const MAX_CLUSTERS_WITH_MEMBERS = 40;
const MAX_MEMBERS = 200;

/** Rendered features of one layer, one per feature (a feature cut across tiles comes back once per tile). */
function drawn(map: maplibregl.Map, layer: string, key: (f: maplibregl.MapGeoJSONFeature) => unknown): maplibregl.MapGeoJSONFeature[] {
	// Querying a layer the style lacks is an error event; the basemap and a page's optional layers come and go.
	if (!map.getLayer(layer)) return [];
	const seen = new Map<unknown, maplibregl.MapGeoJSONFeature>();
	for (const f of map.queryRenderedFeatures({ layers: [layer] })) {
		const k = key(f);
		if (!seen.has(k)) seen.set(k, f);
	}
	return [...seen.values()];
}

const list = (names: string[]) => names.join(i18n.lang === 'zh' ? '、' : ', ');

/** The duty console's map: villages with their level, sensors one by one or in clusters, cases, river, township. */
export async function describeTownshipMap(map: maplibregl.Map): Promise<MapDescription> {
	const t = i18n.tr;
	const villages = drawn(map, 'village-fill', (f) => f.id ?? f.properties.id);
	const township = drawn(map, 'township-fill', (f) => f.id ?? JSON.stringify(f.properties)).length;
	const rivers = drawn(map, 'river-line', (f) => f.id ?? JSON.stringify(f.properties)).length;
	const singles = drawn(map, 'sensor-symbols', (f) => f.properties.id);
	const clusters = drawn(map, 'sensor-clusters', (f) => f.properties.cluster_id);
	const cases = drawn(map, 'incident-markers', (f) => f.properties.id);

	// The status a symbol is painted with: a live change arrives as feature-state before the property follows.
	const statusOf = (f: maplibregl.MapGeoJSONFeature) => String(f.state?.status ?? f.properties.status);
	const source = map.getSource('sensors') as maplibregl.GeoJSONSource | undefined;
	const members = await Promise.all(
		clusters.map(async (c, i) => {
			if (!source || i >= MAX_CLUSTERS_WITH_MEMBERS) return null;
			// A cluster id belongs to one version of the data: a live update in between re-clusters, and the worker
			// no longer knows it. The members are then left out; the render that update brings describes it anew.
			const leaves = await source.getClusterLeaves(Number(c.properties.cluster_id), MAX_MEMBERS, 0).catch(() => null);
			return leaves?.map((l) => ({ id: String(l.properties?.id), name: String(l.properties?.name ?? l.properties?.id) })) ?? null;
		})
	);

	const inClusters = clusters.reduce((n, c) => n + Number(c.properties.point_count), 0);
	const byStatus = new Map<string, number>();
	for (const f of singles) byStatus.set(statusOf(f), (byStatus.get(statusOf(f)) ?? 0) + 1);
	const statusWords = STATUSES_WORST_FIRST.filter((s) => byStatus.get(s)).map((s) => `${i18n.label('status', s)} ${byStatus.get(s)}`);

	const parts = [
		t(`${villages.length} 个村`, `${villages.length} villages`) + (villages.length ? `（${list(villages.map((v) => String(v.properties.name)))}）` : ''),
		t(`${singles.length + inClusters} 个监测点`, `${singles.length + inClusters} sensors`) +
			(singles.length ? t(`，单独显示 ${singles.length} 个（${list(statusWords)}）`, `, ${singles.length} shown singly (${list(statusWords)})`) : '') +
			(clusters.length ? t(`，${clusters.length} 组聚合共 ${inClusters} 个`, `, ${inClusters} in ${clusters.length} clusters`) : ''),
		t(`${cases.length} 个案件`, `${cases.length} cases`),
		t(`${rivers} 条河流`, `${rivers} rivers`)
	];
	if (township) parts.push(t('乡镇边界', 'the township boundary'));

	const items: MapItem[] = [];
	for (const v of villages) {
		// A village without an alarm is filled neutrally, not as "normal": no reading says it is safe.
		const level = v.state?.level && v.state.level !== 'normal' ? String(v.state.level) : null;
		const name = String(v.properties.name);
		items.push({ text: level ? `${name}：${i18n.label('status', level)}` : name, data: { village: name, ...(level ? { level } : {}) } });
	}
	for (const f of singles) {
		const status = statusOf(f);
		items.push({ text: `${f.properties.name}（${f.properties.id}）：${i18n.label('status', status)}`, data: { sensor: String(f.properties.id), status } });
	}
	clusters.forEach((c, i) => {
		const worst = RANK_STATUS[Number(c.properties.worst)] ?? 'normal';
		const m = members[i];
		const names = m ? `：${list(m.slice(0, 10).map((x) => x.name))}${m.length > 10 ? ' …' : ''}` : '';
		items.push({
			text: t(`${c.properties.point_count} 个监测点的聚合，最严重 ${i18n.label('status', worst)}`, `cluster of ${c.properties.point_count} sensors, worst ${i18n.label('status', worst)}`) + names,
			data: { cluster: Number(c.properties.point_count), worst, ...(m ? { members: m.map((x) => x.id).join(' ') } : {}) }
		});
	});
	for (const c of cases) {
		const level = String(c.properties.level ?? '');
		items.push({ text: t(`案件 #${c.properties.id}：${i18n.label('status', level)}`, `case #${c.properties.id}: ${i18n.label('status', level)}`), data: { case: Number(c.properties.id), level } });
	}

	return {
		text: t('地图当前显示：', 'The map shows: ') + list(parts),
		items: items.slice(0, MAX_ITEMS),
		data: { villages: villages.length, sensors: singles.length + inClusters, singles: singles.length, clusters: clusters.length, cases: cases.length, rivers, township }
	};
}

const POINT_KINDS: Record<string, { zh: string; en: string }> = {
	error: { zh: '错误位置', en: 'error at' },
	warning: { zh: '提醒位置', en: 'warning at' },
	info: { zh: '说明位置', en: 'note at' },
	device: { zh: '设备', en: 'device' }
};

/** The admin pages' small map: the current villages, the boundaries being previewed, and the points (problems, devices). */
export function describeAdminMap(map: maplibregl.Map): MapDescription {
	const t = i18n.tr;
	const villages = drawn(map, 'current-village-fill', (f) => JSON.stringify(f.properties));
	const preview = drawn(map, 'preview-fill', (f) => JSON.stringify(f.properties));
	const points = drawn(map, 'point-dots', (f) => JSON.stringify([f.geometry, f.properties]));
	const name = (f: maplibregl.MapGeoJSONFeature) => String(f.properties.name ?? f.properties.id ?? '?');
	const parts = [t(`${villages.length} 个村`, `${villages.length} villages`) + (villages.length ? `（${list(villages.map(name))}）` : '')];
	if (preview.length) parts.push(t(`预览中的边界 ${preview.length} 个（${list(preview.map(name))}）`, `${preview.length} boundaries in the preview (${list(preview.map(name))})`));
	parts.push(t(`${points.length} 个标记点`, `${points.length} points`));
	return {
		text: t('地图当前显示：', 'The map shows: ') + list(parts),
		items: [
			...preview.map((f) => ({ text: t(`预览边界：${name(f)}`, `previewed boundary: ${name(f)}`), data: { preview: name(f) } })),
			...points.map((f) => {
				const kind = String(f.properties.kind ?? '');
				const id = f.properties.id === undefined ? '' : ` ${f.properties.id}`;
				return { text: (POINT_KINDS[kind] ? i18n.pick(POINT_KINDS[kind]) : t('标记点', 'point')) + id, data: { point: kind, ...(id ? { id: id.trim() } : {}) } };
			})
		].slice(0, MAX_ITEMS),
		data: { villages: villages.length, preview: preview.length, points: points.length }
	};
}
