// Outbound webhooks (issue 5 item 7) against local HTTP receivers: the WeCom, DingTalk and JSON bodies as received,
// retries with back-off driven by an injected clock (no real waiting), robot errcodes, hanging receivers, giving up,
// disabled webhooks and hostile titles.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freshDb, type TestDb } from '../support/services';
import type { Db } from '../../src/lib/server/platform/db';
import { enqueue, WebhookWorker, backoffMs, type WebhookWorkerOptions } from '../../src/lib/server/notify/webhooks';
import { formatFor, type NotificationEvent } from '../../src/lib/server/notify/formats';

interface Received {
	path: string;
	headers: http.IncomingHttpHeaders;
	body: string;
}

type Reply = (r: Received, res: http.ServerResponse) => void;

const ok = (res: http.ServerResponse, body = '{"errcode":0,"errmsg":"ok"}') => {
	res.writeHead(200, { 'content-type': 'application/json' });
	res.end(body);
};

/** One receiver for all paths; each path answers with its script (default: a robot's success). */
class Receiver {
	readonly got: Received[] = [];
	readonly scripts = new Map<string, Reply>();
	private server!: http.Server;
	base = '';

	async listen(): Promise<void> {
		this.server = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
				this.got.push(r);
				(this.scripts.get(r.path) ?? ((_r, s) => ok(s)))(r, res);
			});
		});
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	at(path: string): Received[] {
		return this.got.filter((g) => g.path === path);
	}

	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

let t: TestDb;
let db: Db;
let rx: Receiver;

beforeAll(async () => {
	t = await freshDb();
	db = t.db;
	rx = new Receiver();
	await rx.listen();
});
afterAll(async () => {
	await rx.close();
	await t.drop();
});
beforeEach(async () => {
	// Every test starts with no webhooks and no deliveries (one database for the file: migrating is the slow part).
	await db.query('DELETE FROM webhook_deliveries');
	await db.query('DELETE FROM webhooks');
	rx.got.length = 0;
	rx.scripts.clear();
});

async function webhook(name: string, format: 'wecom' | 'dingtalk' | 'json', opts: { enabled?: boolean; path?: string } = {}): Promise<number> {
	const r = await db.query<{ id: number }>('INSERT INTO webhooks (name, url, format, enabled) VALUES ($1, $2, $3, $4) RETURNING id', [
		name,
		`${rx.base}${opts.path ?? '/' + name}`,
		format,
		opts.enabled ?? true
	]);
	return r.rows[0].id;
}

async function deliveries(webhookId: number) {
	const r = await db.query<{ id: number; status: string; attempts: number; last_error: string | null; next_attempt_at: Date; sent_at: Date | null }>(
		'SELECT id, status, attempts, last_error, next_attempt_at, sent_at FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id',
		[webhookId]
	);
	return r.rows;
}

/** A clock the test moves by hand; starts now so freshly queued rows (next_attempt_at = now()) are due. */
function clock() {
	let t = Date.now() + 1000;
	return { now: () => t, advance: (ms: number) => (t += ms) };
}

const stopped: WebhookWorker[] = [];
afterEach(async () => {
	for (const w of stopped.splice(0)) await w.stop();
});
function worker(opts: WebhookWorkerOptions): WebhookWorker {
	const sut = new WebhookWorker(db, { random: () => 0.5, ...opts });
	stopped.push(sut);
	return sut;
}

function redEvent(over: Partial<NotificationEvent['incident']> = {}): NotificationEvent {
	return {
		type: 'incident.opened',
		incident: {
			id: 42,
			title: '河口水位站 水位超红色阈值',
			level: 'red',
			status: 'reported',
			village: '石桥村',
			category: 'flood',
			opened_at: '2025-07-01T02:30:00Z',
			ack_due: '2025-07-01T02:40:00Z',
			url: 'https://shudi.example/incidents/42',
			...over
		},
		to: [
			{ role: 'cadre', name: '王小明', phone: '13800001111' },
			{ role: 'lead', name: '李书记', phone: '139-0000-2222' },
			{ role: 'cadre', name: '无电话', phone: null }
		],
		at: '2025-07-01T02:30:05Z',
		text_zh: '河口水位站水位 3.42 m，超过红色阈值 3.20 m'
	};
}

const blueEvent = (): NotificationEvent => ({ ...redEvent({ level: 'blue', title: '裂缝计读数偏大' }), text_zh: '裂缝 2.1 mm，蓝色' });

describe('formats as received', () => {
	it('sends one delivery per enabled webhook, each in its own format with its headers', async () => {
		const wecom = await webhook('wecom', 'wecom');
		const ding = await webhook('ding', 'dingtalk');
		const json = await webhook('json', 'json');
		const event = redEvent();
		expect(await db.tx((q) => enqueue(q, event))).toBe(3);

		const c = clock();
		const sut = worker({ now: c.now });
		expect(await sut.runOnce()).toEqual({ sent: 3, failed: 0, retried: 0 });

		for (const id of [wecom, ding, json]) expect(await deliveries(id)).toMatchObject([{ status: 'sent', attempts: 1, last_error: null }]);
		for (const r of rx.got) {
			expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
			expect(r.headers['x-shudi-delivery']).toMatch(/^\d+$/);
		}

		// WeCom: a red call to action @-mentions the responsible cadres, which only msgtype text can do.
		const w = JSON.parse(rx.at('/wecom')[0].body);
		expect(w.msgtype).toBe('text');
		expect(w.text.mentioned_mobile_list).toEqual(['13800001111', '13900002222']);
		expect(w.text.content.startsWith('【红色预警】新事件：河口水位站 水位超红色阈值')).toBe(true);
		expect(w.text.content).toContain('村：石桥村');
		expect(w.text.content).toContain('类别：汛情');
		expect(w.text.content).toContain('受理时限：2025-07-01 10:40'); // Asia/Shanghai
		expect(w.text.content).toContain('详情：https://shudi.example/incidents/42');

		// DingTalk: markdown with at.atMobiles, and the @mobile in the text so the mention shows.
		const d = JSON.parse(rx.at('/ding')[0].body);
		expect(d.msgtype).toBe('markdown');
		expect(d.markdown.title).toContain('【红色预警】新事件');
		expect(d.markdown.text).toMatch(/^### 【红色预警】新事件：/);
		expect(d.markdown.text).toContain('@13800001111 @13900002222');
		expect(d.markdown.text).toContain('[查看详情](https://shudi.example/incidents/42)');
		expect(d.at).toEqual({ atMobiles: ['13800001111', '13900002222'], isAtAll: false });

		// JSON: the event as is, its type in a header.
		expect(JSON.parse(rx.at('/json')[0].body)).toEqual(event);
		expect(rx.at('/json')[0].headers['x-shudi-event']).toBe('incident.opened');
	});

	it('uses WeCom markdown with the level colour when nobody is to be @-mentioned', async () => {
		await webhook('wecom', 'wecom');
		await webhook('ding', 'dingtalk');
		await db.tx((q) => enqueue(q, blueEvent()));
		await worker({ now: clock().now }).runOnce();

		const w = JSON.parse(rx.at('/wecom')[0].body);
		expect(w.msgtype).toBe('markdown');
		expect(w.markdown.content).toMatch(/^### <font color="comment">【蓝色预警】新事件<\/font>：裂缝计读数偏大\n/);
		expect(w.markdown.content).toContain('[查看详情](https://shudi.example/incidents/42)');
		const d = JSON.parse(rx.at('/ding')[0].body);
		expect(d.at).toEqual({ atMobiles: [], isAtAll: false });
		expect(d.markdown.text).not.toContain('@138');
	});

	it('a disabled webhook gets nothing, not even rows queued before it was disabled', async () => {
		const on = await webhook('on', 'json');
		const off = await webhook('off', 'json', { enabled: false });
		const later = await webhook('later', 'json');
		expect(await enqueue(db, redEvent())).toBe(2);
		expect(await deliveries(off)).toEqual([]);

		await db.query('UPDATE webhooks SET enabled = false WHERE id = $1', [later]);
		expect(await worker({ now: clock().now }).runOnce()).toEqual({ sent: 1, failed: 0, retried: 0 });
		expect(rx.at('/on')).toHaveLength(1);
		expect(rx.at('/off')).toHaveLength(0);
		expect(rx.at('/later')).toHaveLength(0);
		expect(await deliveries(on)).toMatchObject([{ status: 'sent' }]);
		expect(await deliveries(later)).toMatchObject([{ status: 'failed', attempts: 0, last_error: 'webhook disabled' }]);
	});

	it('a title with markdown and HTML control characters arrives inert', async () => {
		await webhook('wecom', 'wecom');
		await webhook('ding', 'dingtalk');
		await webhook('json', 'json');
		const hostile = '**粗**</font><font color="info">_x_ [点我](http://evil) `c` <@all>\n# 标题\n> 引用 & "引号"\u202e';
		const event = { ...blueEvent(), text_zh: `新事件：${hostile}` };
		event.incident!.title = hostile;
		event.incident!.village = '<b>村</b>';
		event.incident!.url = 'https://shudi.example/x)[y](http://evil';
		await enqueue(db, event);
		expect(await worker({ now: clock().now }).runOnce()).toMatchObject({ sent: 3 });

		const w = JSON.parse(rx.at('/wecom')[0].body).markdown.content as string;
		const d = JSON.parse(rx.at('/ding')[0].body).markdown.text as string;
		for (const md of [w, d]) {
			// Only our own markup remains: the font tags we wrote and one link.
			const ours = /<\/?font( color="(warning|comment)")?>|^> /gm; // our colour tags and WeCom's quote lines
			expect(md.replace(ours, '')).not.toMatch(/[<>*_`\u202e]/);
			// One link, ours, whose target the hostile URL could not end early.
			expect([...md.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1])).toEqual(['https://shudi.example/x%29%5By%5D%28http://evil']);
			expect(md).not.toMatch(/\n# /); // the title's line break did not start a heading
			expect(md).toContain('＊＊粗＊＊＜/font＞＜font color＝＂info＂＞＿x＿ ［点我］（http://evil） ｀c｀ ＜@all＞ ＃ 标题 ＞ 引用 ＆ ＂引号＂');
			expect(md).toContain('＜b＞村＜/b＞');
		}
		expect(w.split('<font color="info">')).toHaveLength(1);
		// JSON keeps the title byte for byte: JSON.stringify is the escaping.
		expect(JSON.parse(rx.at('/json')[0].body).incident.title).toBe(hostile);

		// The same title in a WeCom text message (red, with mentions) cannot smuggle a <@userid> mention.
		const text = JSON.parse(formatFor('wecom', { ...redEvent({ title: hostile }) }).body).text.content as string;
		expect(text).not.toMatch(/[<>\u202e]/);
		expect(text.split('\n')[0]).toContain('＜@all＞ # 标题');
	});
});

describe('retries', () => {
	it('500 twice then 200: three attempts with growing back-off, then sent', async () => {
		const id = await webhook('flaky', 'json');
		let n = 0;
		rx.scripts.set('/flaky', (_r, res) => {
			if (++n <= 2) {
				res.writeHead(500);
				res.end('upstream broken');
			} else ok(res, 'fine');
		});
		await enqueue(db, redEvent());
		const c = clock();
		const sut = worker({ now: c.now });

		expect(await sut.runOnce()).toEqual({ sent: 0, failed: 0, retried: 1 });
		let [row] = await deliveries(id);
		expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500: upstream broken' });
		expect(new Date(row.next_attempt_at).getTime() - c.now()).toBe(backoffMs(1, () => 0.5)); // 10 s

		// Not due yet: nothing happens.
		c.advance(9_000);
		expect(await sut.runOnce()).toEqual({ sent: 0, failed: 0, retried: 0 });
		expect(n).toBe(1);

		c.advance(1_000);
		expect(await sut.runOnce()).toEqual({ sent: 0, failed: 0, retried: 1 });
		[row] = await deliveries(id);
		expect(row).toMatchObject({ status: 'pending', attempts: 2 });
		expect(new Date(row.next_attempt_at).getTime() - c.now()).toBe(20_000);

		c.advance(20_000);
		expect(await sut.runOnce()).toEqual({ sent: 1, failed: 0, retried: 0 });
		[row] = await deliveries(id);
		expect(row).toMatchObject({ status: 'sent', attempts: 3 });
		expect(new Date(row.sent_at!).getTime()).toBe(c.now());
		expect(rx.at('/flaky')).toHaveLength(3);
		// The same delivery id each time, so a receiver can drop repeats.
		expect(new Set(rx.at('/flaky').map((r) => r.headers['x-shudi-delivery'])).size).toBe(1);
	});

	it('a robot answering 200 with a non-zero errcode is retried', async () => {
		const id = await webhook('kw', 'dingtalk');
		let n = 0;
		rx.scripts.set('/kw', (_r, res) => (++n === 1 ? ok(res, '{"errcode":310000,"errmsg":"keywords not in content"}') : ok(res)));
		await enqueue(db, blueEvent());
		const c = clock();
		const sut = worker({ now: c.now });
		expect(await sut.runOnce()).toEqual({ sent: 0, failed: 0, retried: 1 });
		expect(await deliveries(id)).toMatchObject([{ status: 'pending', attempts: 1, last_error: 'errcode 310000: keywords not in content' }]);
		c.advance(3_600_000);
		expect(await sut.runOnce()).toEqual({ sent: 1, failed: 0, retried: 0 });
	});

	it('gives up after maxAttempts with the last error kept', async () => {
		const id = await webhook('dead', 'wecom');
		rx.scripts.set('/dead', (_r, res) => ok(res, '{"errcode":93000,"errmsg":"invalid webhook url"}'));
		await enqueue(db, redEvent());
		const c = clock();
		const sut = worker({ now: c.now, maxAttempts: 3, random: Math.random });
		const results = [];
		for (let i = 0; i < 4; i++) {
			results.push(await sut.runOnce());
			c.advance(2 * 3_600_000); // past any back-off, jitter included
		}
		expect(results).toEqual([
			{ sent: 0, failed: 0, retried: 1 },
			{ sent: 0, failed: 0, retried: 1 },
			{ sent: 0, failed: 1, retried: 0 },
			{ sent: 0, failed: 0, retried: 0 }
		]);
		expect(await deliveries(id)).toMatchObject([{ status: 'failed', attempts: 3, last_error: 'errcode 93000: invalid webhook url' }]);
		expect(rx.at('/dead')).toHaveLength(3);
	});

	it('a receiver that never answers times out without holding up the other webhooks', async () => {
		const hang = await webhook('hang', 'json');
		const good = await webhook('good', 'wecom');
		const dead = await webhook('refused', 'json', { path: '/x' });
		// Nothing listens on port 9 (discard) on 127.0.0.1 in the test environment: connection refused.
		await db.query(`UPDATE webhooks SET url = 'http://127.0.0.1:9/x' WHERE id = $1`, [dead]);
		rx.scripts.set('/hang', () => undefined);
		await enqueue(db, redEvent());
		await enqueue(db, blueEvent());
		const c = clock();
		const sut = worker({ now: c.now, timeoutMs: 200 });

		const t0 = performance.now();
		expect(await sut.runOnce()).toEqual({ sent: 2, failed: 0, retried: 2 });
		expect(performance.now() - t0).toBeLessThan(2_000);
		expect(await deliveries(good)).toMatchObject([{ status: 'sent' }, { status: 'sent' }]);
		expect(rx.at('/good')).toHaveLength(2);

		// The hanging robot's first row timed out; its second was not tried (nothing sent, no attempt counted) and
		// waits with the first rather than costing another timeout in this pass.
		const [h1, h2] = await deliveries(hang);
		expect(h1).toMatchObject({ status: 'pending', attempts: 1, last_error: 'timeout after 200 ms' });
		expect(h2).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
		expect(h2.next_attempt_at).toEqual(h1.next_attempt_at);
		expect(rx.at('/hang')).toHaveLength(1);
		expect((await deliveries(dead))[0].last_error).toMatch(/fetch failed/);
	});

	it('never throws, even when the database is gone', async () => {
		const gone = { tx: () => Promise.reject(new Error('connection terminated')), query: () => Promise.reject(new Error('connection terminated')) } as unknown as Db;
		const sut = new WebhookWorker(gone, {});
		await expect(sut.runOnce()).resolves.toEqual({ sent: 0, failed: 0, retried: 0 });
	});
});

describe('back-off', () => {
	it.each([
		[1, 0.5, 10_000],
		[2, 0.5, 20_000],
		[7, 0.5, 640_000],
		[10, 0.5, 3_600_000],
		[30, 0.5, 3_600_000],
		[1, 0, 8_000],
		[1, 0.999999, 12_000],
		[10, 0, 2_880_000]
	])('after %i failures with random %f waits %i ms', (attempts, r, ms) => {
		expect(backoffMs(attempts, () => r)).toBe(ms);
	});
});
