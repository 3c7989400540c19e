// Outbound webhook bodies (issue 5 item 7): a WeCom (企业微信) group robot, a DingTalk (钉钉) custom robot, or the
// event as plain JSON. Pure: no I/O, so the worker in ./webhooks.ts and the tests share exactly one formatter.
//
// Robot message formats (public docs):
//  - WeCom group robot, https://developer.work.weixin.qq.com/document/path/99110 — `text` (≤ 2048 bytes) carries
//    `mentioned_mobile_list`; `markdown` (≤ 4096 bytes) renders `<font color="info|comment|warning">` but cannot @ anyone.
//  - DingTalk custom robot, https://open.dingtalk.com/document/robots/custom-robot-access — `markdown` with
//    `at.atMobiles`; a mention only shows when the text itself contains `@<mobile>`. A robot secured by keywords
//    rejects any message without one (errcode 310000), so every message carries the fixed words 属地 and 预警/事件/设备.
//
// Everything user-provided (titles, village and cadre names, device names, even text_zh, which quotes titles) is
// neutralised before it enters markdown: control characters and line breaks collapse to spaces, and the characters
// the robots' markdown or HTML subset reacts to become their full-width twins (readable in Chinese text, inert as
// markup). JSON string escaping is left to JSON.stringify.
import type { Level } from '../../domain/types.js';
import { STATUS_NAMES } from '../../domain/levels.js';
import { label } from '../../domain/labels.js';

export type NotificationFormat = 'wecom' | 'dingtalk' | 'json';
export const NOTIFICATION_FORMATS: readonly NotificationFormat[] = ['wecom', 'dingtalk', 'json'];

export type NotificationEventType =
	| 'incident.opened'
	| 'incident.escalated'
	| 'incident.reminder'
	| 'incident.level_changed'
	| 'incident.acknowledged'
	| 'incident.closed'
	| 'device.offline';

export interface NotificationEvent {
	type: NotificationEventType;
	incident?: {
		id: number;
		title: string;
		level: Level | null;
		status: string;
		village: string | null;
		category: string;
		opened_at: string;
		ack_due: string | null;
		url?: string;
	};
	/** Who must act (the responsible cadres at this escalation step). */
	to?: { role: string; name: string; phone: string | null }[];
	device?: { id: string; name: string };
	at: string;
	/** The one-line Chinese summary, written by whoever raised the event. */
	text_zh: string;
}

export interface FormattedRequest {
	body: string;
	headers: Record<string, string>;
}

export interface FormatOptions {
	/** Time zone the times are shown in (config TZ_DISPLAY). */
	tz?: string;
}

const TYPE_ZH: Record<NotificationEventType, string> = {
	'incident.opened': '新事件',
	'incident.escalated': '事件升级',
	'incident.reminder': '催办提醒',
	'incident.level_changed': '预警等级变化',
	'incident.acknowledged': '事件已受理',
	'incident.closed': '事件已结案',
	'device.offline': '设备离线'
};

/** Events someone must act on now: only these @-mention the responsible cadres (an ack or a close is news, not a call). */
const CALLS_TO_ACTION: ReadonlySet<NotificationEventType> = new Set(['incident.opened', 'incident.escalated', 'incident.reminder', 'incident.level_changed']);
/** Levels urgent enough to @ people in the group (DOMAIN.md: red 10 min, orange 30 min to acknowledge). */
const MENTION_LEVELS: ReadonlySet<Level> = new Set(['red', 'orange']);

const CATEGORY_ZH: Record<string, string> = {
	flood: '汛情',
	housing: '房屋安全',
	geohazard: '地质灾害',
	fire: '火情',
	dispute: '矛盾纠纷',
	device: '设备故障',
	other: '其他'
};

const STATUS_ZH: Record<string, string> = {
	reported: '待受理',
	accepted: '已受理',
	dispatched: '已派遣',
	in_progress: '处置中',
	resolved: '已处置待核查',
	closed: '已结案',
	rejected: '不予受理'
};

// WeCom markdown knows three colours only; the level is always named in words as well.
const WECOM_COLOUR: Record<Level, 'warning' | 'comment'> = { red: 'warning', orange: 'warning', yellow: 'comment', blue: 'comment' };

const WECOM_TEXT_MAX_BYTES = 2048;
const WECOM_MARKDOWN_MAX_BYTES = 4096;
// DingTalk documents no hard limit for markdown; stay well inside what a phone screen shows.
const DINGTALK_MARKDOWN_MAX_BYTES = 6000;
const FIELD_MAX_CHARS = 200;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

export function formatFor(format: NotificationFormat, event: NotificationEvent, opts: FormatOptions = {}): FormattedRequest {
	switch (format) {
		case 'wecom':
			return { body: JSON.stringify(wecom(event, opts)), headers: { ...JSON_HEADERS } };
		case 'dingtalk':
			return { body: JSON.stringify(dingtalk(event, opts)), headers: { ...JSON_HEADERS } };
		case 'json':
			return { body: JSON.stringify(event), headers: { ...JSON_HEADERS, 'x-shudi-event': event.type } };
		default: {
			const never: never = format;
			throw new Error(`unknown webhook format ${String(never)}`);
		}
	}
}

// ---- neutralising user text --------------------------------------------------------------------------------------

// C0/C1 controls, DEL, line/paragraph separators and bidi overrides (which can visually reorder a message).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

// Markdown emphasis/code/links/headings/quotes/tables/images, HTML tags and entities, and WeCom's `<@userid>`.
const MARKUP_TWINS: Record<string, string> = {
	'<': '＜',
	'>': '＞',
	'&': '＆',
	'*': '＊',
	_: '＿',
	'`': '｀',
	'[': '［',
	']': '］',
	'(': '（',
	')': '）',
	'#': '＃',
	'~': '～',
	'|': '｜',
	'\\': '＼',
	'!': '！',
	'"': '＂',
	'=': '＝'
};
const MARKUP = /[<>&*_`[\]()#~|\\!"=]/g;

/** One line of plain text: no control characters, no line breaks, bounded length. */
function plain(s: string | null | undefined, max = FIELD_MAX_CHARS): string {
	const t = String(s ?? '')
		.replace(CONTROL, ' ')
		.replace(/\s+/g, ' ')
		.trim();
	return [...t].length > max ? [...t].slice(0, max - 1).join('') + '…' : t;
}

/** Plain text made inert inside WeCom/DingTalk markdown. */
export function escapeMarkdown(s: string | null | undefined, max = FIELD_MAX_CHARS): string {
	return plain(s, max).replace(MARKUP, (c) => MARKUP_TWINS[c] ?? c);
}

/** Only http(s) links, percent-encoded so `)` or a space cannot end the markdown link early. */
function safeUrl(u: string | undefined): string | null {
	if (!u) return null;
	try {
		const url = new URL(u);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
		return url.href.replace(/[()<>"'\s[\]]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
	} catch {
		return null;
	}
}

/** Mobile numbers as the robots match them against group members: digits, optionally a leading + country code. */
function mobiles(e: NotificationEvent): string[] {
	const level = e.incident?.level;
	if (!level || !MENTION_LEVELS.has(level) || !CALLS_TO_ACTION.has(e.type)) return [];
	const out = new Set<string>();
	for (const t of e.to ?? []) {
		const p = (t.phone ?? '').replace(/[\s-]/g, '');
		if (/^\+?\d{5,15}$/.test(p)) out.add(p);
	}
	return [...out];
}

/** Plain text for a WeCom `text` message: one line, and no `<@userid>` mention smuggled in. */
function escapeText(s: string | null | undefined, max = FIELD_MAX_CHARS): string {
	return plain(s, max).replace(/[<>]/g, (c) => MARKUP_TWINS[c]);
}

const utf8 = new TextEncoder();

/** head + tail within maxBytes of UTF-8 (the robots count bytes), cutting head at a character boundary. */
function fit(head: string, tail: string, maxBytes: number): string {
	const tailBytes = utf8.encode(tail).length;
	if (utf8.encode(head).length + tailBytes <= maxBytes) return head + tail;
	const budget = maxBytes - tailBytes - 3; // room for the ellipsis
	let out = '';
	let bytes = 0;
	for (const ch of head) {
		const n = utf8.encode(ch).length;
		if (bytes + n > budget) break;
		out += ch;
		bytes += n;
	}
	return out + '…' + tail;
}

// ---- shared pieces -----------------------------------------------------------------------------------------------

function when(iso: string | null | undefined, tz: string): string {
	if (!iso) return '';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return plain(iso, 40);
	// sv-SE gives "YYYY-MM-DD HH:mm", the form Chinese duty logs use.
	return new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(d);
}

function levelZh(level: Level | null | undefined): string | null {
	return level ? STATUS_NAMES[level].zh : null;
}

/** "【红色预警】新事件" / "设备离线": the first words everyone reads. */
function headline(e: NotificationEvent): string {
	const lz = levelZh(e.incident?.level);
	return (lz ? `【${lz}预警】` : '') + TYPE_ZH[e.type];
}

interface Line {
	label: string;
	value: string;
}

/** Field lines with values already escaped for markdown (or plain, for text messages). */
function fields(e: NotificationEvent, tz: string, esc: (s: string | null | undefined) => string): Line[] {
	const lines: Line[] = [];
	const i = e.incident;
	if (i) {
		const lz = levelZh(i.level);
		if (lz) lines.push({ label: '等级', value: lz });
		lines.push({ label: '类别', value: esc(CATEGORY_ZH[i.category] ?? i.category) });
		if (i.village) lines.push({ label: '村', value: esc(i.village) });
		lines.push({ label: '状态', value: esc(STATUS_ZH[i.status] ?? i.status) });
		lines.push({ label: '发生', value: when(i.opened_at, tz) });
		if (i.ack_due && CALLS_TO_ACTION.has(e.type)) lines.push({ label: '受理时限', value: when(i.ack_due, tz) });
		lines.push({ label: '编号', value: `#${Number(i.id)}` });
	}
	if (e.device) lines.push({ label: '设备', value: `${esc(e.device.name)}（${esc(e.device.id)}）` });
	if (e.to?.length) {
		lines.push({
			label: '责任人',
			value: e.to.map((t) => `${esc(label('role', t.role, 'zh'))} ${esc(t.name)}`).join('、')
		});
	}
	lines.push({ label: '时间', value: when(e.at, tz) });
	return lines;
}

function titleLine(e: NotificationEvent, esc: (s: string | null | undefined) => string): string {
	const subject = e.incident?.title ?? e.device?.name ?? '';
	return subject ? `${headline(e)}：${esc(subject)}` : headline(e);
}

const FOOTER = '—— 属地 shudi';

// ---- WeCom -------------------------------------------------------------------------------------------------------

type WecomBody =
	| { msgtype: 'text'; text: { content: string; mentioned_mobile_list: string[] } }
	| { msgtype: 'markdown'; markdown: { content: string } };

function wecom(e: NotificationEvent, opts: FormatOptions): WecomBody {
	const tz = opts.tz ?? 'Asia/Shanghai';
	const mention = mobiles(e);
	if (mention.length) {
		// Only `text` can @ people in a WeCom group. Text is not markdown, but it does honour `<@userid>` mentions,
		// so angle brackets still lose their meaning.
		const esc = (s: string | null | undefined, max?: number) => escapeText(s, max);
		const url = safeUrl(e.incident?.url);
		const content = [
			titleLine(e, esc),
			esc(e.text_zh, 500),
			...fields(e, tz, esc).map((l) => `${l.label}：${l.value}`),
			...(url ? [`详情：${url}`] : [])
		].join('\n');
		return { msgtype: 'text', text: { content: fit(content, '\n' + FOOTER, WECOM_TEXT_MAX_BYTES), mentioned_mobile_list: mention } };
	}
	const esc = (s: string | null | undefined) => escapeMarkdown(s);
	const level = e.incident?.level;
	const head = level ? `<font color="${WECOM_COLOUR[level]}">${headline(e)}</font>` : headline(e);
	const subject = e.incident?.title ?? e.device?.name;
	const url = safeUrl(e.incident?.url);
	const content = [
		`### ${head}${subject ? `：${esc(subject)}` : ''}`,
		escapeMarkdown(e.text_zh, 500),
		...fields(e, tz, esc).map((l) => `> ${l.label}：<font color="comment">${l.value}</font>`),
		...(url ? [`[查看详情](${url})`] : [])
	].join('\n');
	return { msgtype: 'markdown', markdown: { content: fit(content, '\n' + FOOTER, WECOM_MARKDOWN_MAX_BYTES) } };
}

// ---- DingTalk ----------------------------------------------------------------------------------------------------

interface DingtalkBody {
	msgtype: 'markdown';
	markdown: { title: string; text: string };
	at: { atMobiles: string[]; isAtAll: false };
}

function dingtalk(e: NotificationEvent, opts: FormatOptions): DingtalkBody {
	const tz = opts.tz ?? 'Asia/Shanghai';
	const esc = (s: string | null | undefined) => escapeMarkdown(s);
	const mention = mobiles(e);
	const url = safeUrl(e.incident?.url);
	// DingTalk markdown has no font colours worth relying on; the level is in the headline words.
	const text = [
		`### ${titleLine(e, esc)}`,
		'',
		escapeMarkdown(e.text_zh, 500),
		'',
		...fields(e, tz, esc).map((l) => `- ${l.label}：${l.value}`),
		'',
		...(url ? [`[查看详情](${url})`] : [])
	].join('\n');
	// The mention only shows (and only notifies) when `@mobile` appears in the text itself: it goes in the tail that
	// truncation never cuts.
	const tail = '\n\n' + (mention.length ? mention.map((m) => `@${m}`).join(' ') + '\n\n' : '') + FOOTER;
	return {
		msgtype: 'markdown',
		// The title is what the chat list and the phone notification show: plain, short, with the keyword words.
		markdown: { title: `属地 ${plain(titleLine(e, (s) => plain(s, 60)), 80)}`, text: fit(text, tail, DINGTALK_MARKDOWN_MAX_BYTES) },
		at: { atMobiles: mention, isAtAll: false }
	};
}
