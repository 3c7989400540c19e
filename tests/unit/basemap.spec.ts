import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../src/lib/server/platform/config';
import { rasterBasemaps, tileOrigins, widenCsp, TIANDITU_HOSTS } from '../../src/lib/domain/basemap';

const TK = '0123456789abcdef0123456789ABCDEF';

describe('basemap configuration', () => {
	it('offers no raster basemap and no tile host by default (fully offline)', () => {
		const sut = parseConfig({});
		expect(rasterBasemaps(sut)).toEqual([]);
		expect(tileOrigins(sut)).toEqual([]);
	});

	it('turns a Tianditu key into vector and imagery basemaps with their annotation overlays, Web-Mercator grid', () => {
		const sut = rasterBasemaps(parseConfig({ BASEMAP_TIANDITU_TK: TK }));
		expect(sut.map((b) => b.id)).toEqual(['tianditu-vec', 'tianditu-img']);
		const [vec, img] = sut;
		expect(vec.tiles).toHaveLength(8);
		expect(vec.tiles[0]).toBe(
			`https://t0.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${TK}`
		);
		expect(vec.overlay![3]).toContain('https://t3.tianditu.gov.cn/cva_w/wmts?');
		expect(img.tiles[7]).toContain('https://t7.tianditu.gov.cn/img_w/wmts?');
		expect(img.overlay![0]).toContain('LAYER=cia');
		expect(tileOrigins(parseConfig({ BASEMAP_TIANDITU_TK: TK }))).toEqual(TIANDITU_HOSTS);
	});

	it('takes any XYZ template with its name and attribution, and allows only its origin', () => {
		const c = parseConfig({ BASEMAP_XYZ_URL: 'https://tiles.example.org:8443/osm/{z}/{x}/{y}.png', BASEMAP_XYZ_NAME: '县测绘院', BASEMAP_XYZ_ATTRIBUTION: '© 县测绘院' });
		expect(rasterBasemaps(c)).toEqual([
			{ id: 'xyz', label: { zh: '县测绘院', en: '县测绘院' }, tiles: ['https://tiles.example.org:8443/osm/{z}/{x}/{y}.png'], overlay: null, attribution: '© 县测绘院', maxzoom: 19 }
		]);
		expect(tileOrigins(c)).toEqual(['https://tiles.example.org:8443']);
	});

	it.each([
		['BASEMAP_TIANDITU_TK', 'not-a-key', 'Tianditu key'],
		['BASEMAP_TIANDITU_TK', TK + '0', 'Tianditu key'],
		['BASEMAP_XYZ_URL', 'ftp://tiles.example.org/{z}/{x}/{y}.png', 'https://'],
		['BASEMAP_XYZ_URL', 'https://tiles.example.org/{z}/{x}.png', 'missing {y}'],
		['BASEMAP_XYZ_URL', 'https://{s}.tile.example.org/{z}/{x}/{y}.png', 'one host'],
		['BASEMAP_XYZ_URL', 'tiles/{z}/{x}/{y}.png', 'not a URL'],
		// GCJ-02 (AMap/Gaode, Tencent) and BD-09 (Baidu) tiles would misplace WGS-84 data by hundreds of metres.
		['BASEMAP_XYZ_URL', 'https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}', 'GCJ-02'],
		['BASEMAP_XYZ_URL', 'https://rt0.map.gtimg.com/tile?z={z}&x={x}&y={y}', 'GCJ-02']
	])('refuses %s=%s', (key, value, why) => {
		let err: unknown;
		try {
			parseConfig({ [key]: value });
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(ConfigError);
		expect((err as ConfigError).problems).toHaveLength(1);
		expect((err as ConfigError).problems[0]).toContain(key);
		expect((err as ConfigError).problems[0]).toContain(why);
	});

	it('names both bad basemap keys at once, beside other bad keys', () => {
		expect(() => parseConfig({ BASEMAP_TIANDITU_TK: 'x', BASEMAP_XYZ_URL: 'https://a.amap.com/{z}/{x}/{y}', PORT: 'x' })).toThrow(/BASEMAP_TIANDITU_TK[\s\S]*BASEMAP_XYZ_URL|BASEMAP_XYZ_URL[\s\S]*BASEMAP_TIANDITU_TK/);
	});
});

describe('widenCsp', () => {
	const policy = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'";

	it('adds the tile origins to img-src and connect-src only', () => {
		expect(widenCsp(policy, ['https://t0.tianditu.gov.cn', 'https://t1.tianditu.gov.cn'])).toBe(
			"default-src 'self'; connect-src 'self' https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn; img-src 'self' data: blob: https://t0.tianditu.gov.cn https://t1.tianditu.gov.cn; frame-ancestors 'none'"
		);
	});

	it('leaves the policy alone when nothing is configured', () => {
		expect(widenCsp(policy, [])).toBe(policy);
	});

	it("adds a missing directive with 'self' rather than falling back to a looser default", () => {
		expect(widenCsp("default-src 'self'", ['https://x.example'])).toBe("default-src 'self'; img-src 'self' https://x.example; connect-src 'self' https://x.example");
	});
});
