// Map symbols drawn in the browser, with no sprite server, glyph server or web font (the app runs offline):
// - one shape per sensor kind, as SVG path data on a 24×24 grid — the legend draws the same paths inline, and the map
//   gets them as SDF icons (map.addImage(…, {sdf: true})) so one image per kind takes any status colour via icon-color;
// - cluster badges (a disc in the cluster's worst status colour with its count), drawn on a canvas with the system's
//   own fonts when MapLibre first asks for them (map.setMissingStyleImageResolver). Text in a symbol layer would need glyph PBFs;
//   a badge image needs nothing but the canvas, and there are only a few dozen distinct badges.
import type { SensorStatus } from '$lib/domain/types';
import { perKind, type SensorKind } from '$lib/domain/sensor-kinds';
import { NO_LEVEL_COLOUR, STATUS_COLOURS, STATUS_SEVERITY } from '$lib/domain/levels';

/** Filled outlines, 24×24, chosen to differ in silhouette (colour is taken by status): the catalogue's shapes. */
export const KIND_SHAPES: Readonly<Record<SensorKind, string>> = Object.freeze(perKind((d) => d.shape));
/** A circle for a kind the map does not know yet (a newer server). */
export const FALLBACK_SHAPE = 'M12 2 A10 10 0 1 0 12.001 2 Z';

/** Clusters take the highest rank among their sensors (levels.ts STATUS_SEVERITY). */
export const STATUS_RANK: Readonly<Record<SensorStatus, number>> = STATUS_SEVERITY;
export const RANK_STATUS = Object.fromEntries(Object.entries(STATUS_RANK).map(([s, r]) => [r, s])) as Record<number, SensorStatus>;

/** Icon texture scale: icons are drawn at twice their CSS size so they stay sharp on HiDPI screens and when scaled. */
export const ICON_PIXEL_RATIO = 2;
/** SDF spread in texture pixels, as MapLibre's own glyph SDFs (SDF_PX = 8 in its shaders; edge at 192/255). */
const SDF_RADIUS = 8;
const SDF_CUTOFF = 0.25;

/**
 * Signed distance field of a coverage mask (alpha 0…255 per pixel, row-major), encoded as MapLibre expects:
 * 255·(1 − cutoff) ≈ 192 on the edge, falling by 255/radius per pixel outward. Brute force over a (2r+1)² window:
 * icons are 64×64, so this is about a million steps per kind, once.
 */
export function signedDistanceField(alpha: ArrayLike<number>, width: number, height: number, radius = SDF_RADIUS, cutoff = SDF_CUTOFF): Uint8ClampedArray {
	const out = new Uint8ClampedArray(width * height);
	const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && alpha[y * width + x] >= 128;
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const a = alpha[y * width + x] / 255;
			let d: number;
			if (a > 0 && a < 1) {
				// An anti-aliased edge pixel: its coverage says how far the edge is from its centre.
				d = 0.5 - a;
			} else {
				const me = a >= 1;
				let best = radius + 1;
				for (let dy = -radius; dy <= radius; dy++)
					for (let dx = -radius; dx <= radius; dx++) {
						if (inside(x + dx, y + dy) !== me) {
							const dist = Math.hypot(dx, dy);
							if (dist < best) best = dist;
						}
					}
				d = me ? -(best - 0.5) : best - 0.5;
			}
			out[y * width + x] = Math.round(255 - 255 * (d / radius + cutoff));
		}
	}
	return out;
}

interface RawImage {
	width: number;
	height: number;
	data: Uint8ClampedArray;
}

function canvas(size: number): CanvasRenderingContext2D {
	const c = document.createElement('canvas');
	c.width = c.height = size;
	return c.getContext('2d', { willReadFrequently: true })!;
}

/** The SDF icon of one kind: the shape filled on a canvas, turned into a distance field in the alpha channel. */
export function kindIcon(kind: string): RawImage {
	const shape = KIND_SHAPES[kind as SensorKind] ?? FALLBACK_SHAPE;
	const pad = SDF_RADIUS - 2;
	const size = 24 * ICON_PIXEL_RATIO + 2 * pad;
	const ctx = canvas(size);
	ctx.translate(pad, pad);
	ctx.scale(ICON_PIXEL_RATIO, ICON_PIXEL_RATIO);
	ctx.fillStyle = '#000';
	ctx.fill(new Path2D(shape));
	const { data } = ctx.getImageData(0, 0, size, size);
	const alpha = new Uint8ClampedArray(size * size);
	for (let i = 0; i < alpha.length; i++) alpha[i] = data[i * 4 + 3];
	const sdf = signedDistanceField(alpha, size, size);
	const rgba = new Uint8ClampedArray(size * size * 4);
	for (let i = 0; i < sdf.length; i++) {
		rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = 255;
		rgba[i * 4 + 3] = sdf[i];
	}
	return { width: size, height: size, data: rgba };
}

/** Light statuses get dark text on their badge, dark ones white: both stay readable. */
const DARK_TEXT: ReadonlySet<string> = new Set(['yellow', 'unknown', 'normal']);

/** A cluster badge: a disc in the worst status's colour, white ring, the count in the middle. */
export function clusterBadge(status: string, label: string): RawImage {
	const r = ICON_PIXEL_RATIO;
	const diameter = (label.length <= 1 ? 30 : label.length === 2 ? 34 : 40) * r;
	const size = diameter + 4 * r;
	const ctx = canvas(size);
	const c = size / 2;
	ctx.beginPath();
	ctx.arc(c, c, diameter / 2, 0, Math.PI * 2);
	ctx.fillStyle = STATUS_COLOURS[status as SensorStatus] ?? NO_LEVEL_COLOUR;
	ctx.fill();
	ctx.lineWidth = 3 * r;
	ctx.strokeStyle = '#ffffff';
	ctx.stroke();
	ctx.beginPath();
	ctx.arc(c, c, diameter / 2 + 1.5 * r, 0, Math.PI * 2);
	ctx.lineWidth = 1 * r;
	ctx.strokeStyle = '#1d2417';
	ctx.stroke();
	ctx.font = `700 ${15 * r}px system-ui, 'Noto Sans', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif`;
	ctx.textAlign = 'center';
	ctx.textBaseline = 'middle';
	ctx.fillStyle = DARK_TEXT.has(status) ? '#1d2417' : '#ffffff';
	ctx.fillText(label, c, c + 1 * r);
	const { data } = ctx.getImageData(0, 0, size, size);
	return { width: size, height: size, data };
}

/** Image ids the map layers ask for: `kind:<kind>` and `cluster:<status>:<count label>`. */
export function symbolImage(id: string): { image: RawImage; sdf: boolean } | null {
	const [what, a, b] = id.split(':');
	if (what === 'kind' && a) return { image: kindIcon(a), sdf: true };
	if (what === 'cluster' && a && b) return { image: clusterBadge(a, b), sdf: false };
	return null;
}
