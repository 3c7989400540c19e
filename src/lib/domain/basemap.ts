// Optional raster basemaps under the township map, built from configuration. Pure: the config values in, the tile
// URL templates and the hosts the browser may fetch from out. The own-data basemap (villages, river, roads drawn from
// the database) is always there and needs nothing from the internet; a raster basemap is an extra a site may switch on.
//
// Datum matters more than looks: shudi stores WGS-84. Tianditu (天地图) serves CGCS2000, which agrees with WGS-84
// within centimetres to a metre or so — no offset is needed. AMap/Gaode and Tencent tiles are GCJ-02 ("Mars
// coordinates", offset by hundreds of metres) and Baidu's are BD-09: under WGS-84 data they put every sensor and
// village boundary in the wrong place, so their hosts are refused outright (see GCJ02_HOSTS).

export interface RasterBasemap {
	/** Stable id, used by the switcher and remembered on the device. */
	id: string;
	label: { zh: string; en: string };
	/** XYZ tile URL templates (several = the same tiles on several hosts; MapLibre spreads requests over them). */
	tiles: string[];
	/** Tiles drawn on top of the data's fills (Tianditu's annotation layers cva/cia), or none. */
	overlay: string[] | null;
	attribution: string;
	maxzoom: number;
}

export interface BasemapConfig {
	BASEMAP_TIANDITU_TK?: string;
	BASEMAP_XYZ_URL?: string;
	BASEMAP_XYZ_NAME?: string;
	BASEMAP_XYZ_ATTRIBUTION?: string;
}

/** Tianditu's tile hosts t0…t7 (its own load balancing; the same tiles on each). */
export const TIANDITU_HOSTS = Array.from({ length: 8 }, (_, i) => `https://t${i}.tianditu.gov.cn`);

/**
 * Tile hosts that serve GCJ-02 or BD-09 tiles (suffix match). Data in WGS-84 would be drawn hundreds of metres off:
 * refused by the config check rather than shown wrong.
 */
export const GCJ02_HOSTS = ['autonavi.com', 'amap.com', 'map.qq.com', 'gtimg.com', 'map.baidu.com', 'bdimg.com', 'bdstatic.com'];

/**
 * One Tianditu layer as an XYZ template. The `_w` services are the Web-Mercator tile matrix set (EPSG:3857 grid,
 * CGCS2000 datum) that MapLibre draws; the `_c` ones are a lat/lng grid MapLibre cannot use.
 * http://lbs.tianditu.gov.cn/server/MapService.html
 */
function tianditu(layer: 'vec' | 'cva' | 'img' | 'cia', tk: string): string[] {
	return TIANDITU_HOSTS.map(
		(host) =>
			`${host}/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${encodeURIComponent(tk)}`
	);
}

/** Why an XYZ URL template cannot be used, or null when it can. */
export function xyzUrlProblem(template: string): string | null {
	let url: URL;
	try {
		url = new URL(template);
	} catch {
		return 'is not a URL';
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must start with https:// or http://';
	if (/[{}]/.test(url.host) || /%7B|%7D/i.test(url.host)) return 'must name one host (no {s} subdomain placeholders: MapLibre does not expand them)';
	for (const p of ['{z}', '{x}', '{y}']) if (!template.includes(p)) return `needs the placeholders {z}, {x} and {y} (missing ${p})`;
	const host = url.hostname.toLowerCase();
	const gcj = GCJ02_HOSTS.find((h) => host === h || host.endsWith('.' + h));
	if (gcj) return `${gcj} serves GCJ-02/BD-09 tiles: shudi's WGS-84 data would be drawn hundreds of metres off`;
	return null;
}

/** The raster basemaps this configuration offers, in switcher order (the own-data basemap is not listed: it is always there). */
export function rasterBasemaps(c: BasemapConfig): RasterBasemap[] {
	const out: RasterBasemap[] = [];
	if (c.BASEMAP_TIANDITU_TK) {
		const tk = c.BASEMAP_TIANDITU_TK;
		const attribution = '© 天地图 Tianditu';
		out.push({ id: 'tianditu-vec', label: { zh: '天地图矢量', en: 'Tianditu map' }, tiles: tianditu('vec', tk), overlay: tianditu('cva', tk), attribution, maxzoom: 18 });
		out.push({ id: 'tianditu-img', label: { zh: '天地图影像', en: 'Tianditu imagery' }, tiles: tianditu('img', tk), overlay: tianditu('cia', tk), attribution, maxzoom: 18 });
	}
	if (c.BASEMAP_XYZ_URL) {
		const name = c.BASEMAP_XYZ_NAME ?? 'XYZ';
		out.push({ id: 'xyz', label: { zh: name, en: name }, tiles: [c.BASEMAP_XYZ_URL], overlay: null, attribution: c.BASEMAP_XYZ_ATTRIBUTION ?? '', maxzoom: 19 });
	}
	return out;
}

/** Origins (scheme://host[:port]) the browser must be allowed to fetch tiles from: exactly the configured ones. */
export function tileOrigins(c: BasemapConfig): string[] {
	const origins = new Set<string>();
	for (const b of rasterBasemaps(c)) for (const t of [...b.tiles, ...(b.overlay ?? [])]) origins.add(new URL(t).origin);
	return [...origins];
}

/**
 * Adds origins to the img-src and connect-src directives of a Content-Security-Policy header value (MapLibre fetches
 * raster tiles with fetch() and decodes them as images). Other directives are left exactly as they were; a directive
 * that is missing is added with 'self' so the policy never becomes looser than default-src.
 */
export function widenCsp(policy: string, origins: string[]): string {
	if (!origins.length) return policy;
	const directives = policy
		.split(';')
		.map((d) => d.trim())
		.filter(Boolean);
	for (const name of ['img-src', 'connect-src']) {
		const i = directives.findIndex((d) => d.split(/\s+/)[0].toLowerCase() === name);
		if (i === -1) directives.push(`${name} 'self' ${origins.join(' ')}`);
		else directives[i] = `${directives[i]} ${origins.join(' ')}`;
	}
	return directives.join('; ');
}
