// `npm run bench:rules`: the rule runner's judging cost for one busy sensor — evaluate() at each time with the levels
// carried (the definition replay must equal; tests/unit/rules.spec.ts checks they agree), replay() over points (history
// sorted once, cut per judged time), and replaySeries() over the columns the history cache hands the rule runner
// (Float64Array views, as ingest/rule-runner.ts calls it). A bench device: river level, battery and signal every
// 100 ms, the history cache full (2,000 points per metric), 15 new reading times judged in one pass.
import { evaluate, replay, replaySeries, toSeries, type HistoryPoint, type RuleId, type RuleLevel, type Series } from '../src/lib/domain/rules.js';
const T = Date.parse('2026-11-26T12:00:00Z');
const history: HistoryPoint[] = [];
for (let i = 0; i < 2000; i++) for (const m of ['water_level_m', 'battery_v', 'rssi_dbm']) history.push({ metric: m, t: T - (2000 - i) * 100, value: m === 'water_level_m' ? 2 + (i % 10) / 1000 : 3.9 });
const times = history.filter((h) => h.metric === 'water_level_m').slice(-15).map((h) => h.t);
const series = new Map<string, Series>([...toSeries(history)].map(([m, s]) => [m, { t: Float64Array.from(s.t), v: Float64Array.from(s.v) }]));
const old = () => {
	const carried: Partial<Record<RuleId, RuleLevel>> = {};
	for (const at of times) for (const r of evaluate({ kind: 'river_level', history, at, previous: { ...carried } })) if (r.level !== 'unknown') carried[r.rule] = r.level;
};
const now = () => replay({ kind: 'river_level', history }, times);
const cols = () => replaySeries({ kind: 'river_level', series }, times);
// What replaySeries would cost if every step's Chinese detail were formatted as it is judged: the same call with
// every detail read. The rule runner reads only the details of steps that change an alarm.
const colsDetails = () => {
	let n = 0;
	for (const step of replaySeries({ kind: 'river_level', series }, times).steps) for (const r of step) n += r.detail.length;
	return n;
};
const time = (f: () => void, n: number) => { const t0 = performance.now(); for (let i = 0; i < n; i++) f(); return (performance.now() - t0) / n; };
for (let r = 0; r < 3; r++) { time(old, 20); time(now, 20); time(cols, 20); time(colsDetails, 20); }
const a: number[] = [], b: number[] = [], c: number[] = [], d: number[] = [];
for (let r = 0; r < 7; r++) { a.push(time(old, 30)); b.push(time(now, 30)); c.push(time(cols, 300)); d.push(time(colsDetails, 300)); }
const med = (x: number[]) => [...x].sort((p, q) => p - q)[3];
console.log(`one sensor, 3 × 2,000 points, 15 judged times: evaluate per step ${med(a).toFixed(2)} ms, replay over points ${med(b).toFixed(2)} ms (ratio ${(med(b) / med(a)).toFixed(2)}), replaySeries over columns (the rule runner's call) ${med(c).toFixed(3)} ms (ratio ${(med(c) / med(a)).toFixed(3)}); with every detail read ${med(d).toFixed(3)} ms (details read / levels only ${(med(d) / med(c)).toFixed(2)})`);
