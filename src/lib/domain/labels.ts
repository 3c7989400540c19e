// The label catalogue: every zh/en name the interface shows — sensor kinds and statuses, levels, roles, case
// statuses, categories, actions, device events and the interface's own strings — and the one lookup, label(), that
// pages, components and the server use. Each table is typed by the ids it names, so the compiler refuses a missing
// label; an id no table knows is shown marked and reported, never passed off as a name (STYLE.md habit 10).
import { perKind, type SensorKind } from './sensor-kinds.js';
import type { IncidentStatus } from './incident-flow.js';
import { STATUS_NAMES, type Level } from './levels.js';

export type Lang = 'zh' | 'en';
export interface Bilingual {
	zh: string;
	en: string;
}

/** Case categories (DOMAIN.md "Incidents"). */
export const CASE_CATEGORIES = ['flood', 'housing', 'geohazard', 'fire', 'dispute', 'device', 'other'] as const;
export type CaseCategory = (typeof CASE_CATEGORIES)[number];

/** Roles in a village's responsibility assignment (包村制度). */
export const ASSIGNMENT_ROLES = ['lead', 'cadre', 'secretary', 'director', 'grid'] as const;
/** Roles on the duty roster. */
export const DUTY_ROLES = ['duty_officer', 'duty_leader'] as const;
export type PersonRole = (typeof ASSIGNMENT_ROLES)[number] | (typeof DUTY_ROLES)[number];

/** Case actions and timeline events, human and system. */
export const CASE_EVENTS = ['report', 'accept', 'reject', 'dispatch', 'start', 'resolve', 'verify_pass', 'verify_fail', 'comment', 'instruct', 'escalate', 'remind', 'alarm', 'alarm_cleared', 'level_raised', 'followup_scheduled', 'followup_done'] as const;
export type CaseEvent = (typeof CASE_EVENTS)[number];

/** What a device's history records (device_events.kind). */
export const DEVICE_EVENTS = ['registered', 'token_rotated', 'revoked', 'offline', 'online', 'moved', 'thresholds_changed', 'calibrated', 'maintenance_scheduled', 'maintenance_cancelled', 'retired', 'no_data'] as const;
export type DeviceEvent = (typeof DEVICE_EVENTS)[number];

/** Sensor kinds: their names live with the kind in the sensor-kind catalogue (sensor-kinds.ts). */
const KIND: Readonly<Record<SensorKind, Bilingual>> = perKind((d) => ({ zh: d.zh, en: d.en }));

/** A case's level, or 'none' where the review groups cases without one. */
const CASE_LEVEL: Record<Level | 'none', Bilingual> = {
	blue: STATUS_NAMES.blue,
	yellow: STATUS_NAMES.yellow,
	orange: STATUS_NAMES.orange,
	red: STATUS_NAMES.red,
	none: { zh: '未分级', en: 'No level' }
};

const ROLE: Record<PersonRole, Bilingual> = {
	lead: { zh: '包村领导', en: 'Township lead' },
	cadre: { zh: '包村干部', en: 'Village cadre' },
	secretary: { zh: '村支书', en: 'Party secretary' },
	director: { zh: '村主任', en: 'Village head' },
	grid: { zh: '网格员', en: 'Grid worker' },
	duty_officer: { zh: '值班员', en: 'Duty officer' },
	duty_leader: { zh: '值班领导', en: 'Duty leader' }
};

const CASE_STATUS: Record<IncidentStatus, Bilingual> = {
	reported: { zh: '待受理', en: 'Reported' },
	accepted: { zh: '已受理', en: 'Accepted' },
	dispatched: { zh: '已派遣', en: 'Dispatched' },
	in_progress: { zh: '处置中', en: 'In progress' },
	resolved: { zh: '待核查', en: 'Resolved' },
	closed: { zh: '已结案', en: 'Closed' },
	rejected: { zh: '不予受理', en: 'Rejected' }
};

const CATEGORY: Record<CaseCategory, Bilingual> = {
	flood: { zh: '汛情', en: 'Flood' },
	housing: { zh: '房屋安全', en: 'Housing' },
	geohazard: { zh: '地质灾害', en: 'Geohazard' },
	fire: { zh: '火情', en: 'Fire' },
	dispute: { zh: '矛盾纠纷', en: 'Dispute' },
	device: { zh: '设备故障', en: 'Device' },
	other: { zh: '其他', en: 'Other' }
};

const ACTION: Record<CaseEvent, Bilingual> = {
	report: { zh: '上报', en: 'Report' },
	accept: { zh: '受理', en: 'Accept' },
	reject: { zh: '不予受理', en: 'Reject' },
	dispatch: { zh: '派遣', en: 'Dispatch' },
	start: { zh: '开始处置', en: 'Start on site' },
	resolve: { zh: '处置完毕', en: 'Resolve' },
	verify_pass: { zh: '核查通过', en: 'Verify: pass' },
	verify_fail: { zh: '核查不通过（返工）', en: 'Verify: fail (rework)' },
	comment: { zh: '备注', en: 'Comment' },
	instruct: { zh: '领导批示', en: 'Leader instruction' },
	escalate: { zh: '升级', en: 'Escalation' },
	remind: { zh: '催办', en: 'Reminder' },
	alarm: { zh: '告警', en: 'Alarm' },
	alarm_cleared: { zh: '告警解除', en: 'Alarm cleared' },
	level_raised: { zh: '级别提升', en: 'Level raised' },
	followup_scheduled: { zh: '安排回访', en: 'Follow-up scheduled' },
	followup_done: { zh: '已回访', en: 'Follow-up done' }
};

const DEVICE_EVENT: Record<DeviceEvent, Bilingual> = {
	registered: { zh: '登记', en: 'registered' },
	token_rotated: { zh: '换令牌', en: 'token rotated' },
	revoked: { zh: '吊销', en: 'revoked' },
	offline: { zh: '离线', en: 'offline' },
	online: { zh: '上线', en: 'online' },
	moved: { zh: '移动', en: 'moved' },
	thresholds_changed: { zh: '阈值修改', en: 'thresholds changed' },
	calibrated: { zh: '校准', en: 'calibrated' },
	maintenance_scheduled: { zh: '安排维护', en: 'maintenance scheduled' },
	maintenance_cancelled: { zh: '取消维护', en: 'maintenance cancelled' },
	retired: { zh: '退役', en: 'retired' },
	no_data: { zh: '无测量数据', en: 'no measurement data' }
};

/** The interface's own strings, zh-CN first. */
const UI = {
	title: { zh: '一张图', en: 'Township map' },
	demo: { zh: '演示数据（虚构）', en: 'Demo data (invented)' },
	sensors: { zh: '监测点', en: 'Sensors' },
	villages: { zh: '行政村', en: 'Villages' },
	legend_status: { zh: '状态', en: 'Status' },
	legend_kind: { zh: '类型（形状）', en: 'Kind (shape)' },
	legend_map: { zh: '图上', en: 'On the map' },
	legend_cluster: { zh: '聚合：数字为个数，颜色为其中最高级别', en: 'Cluster: count, coloured by its worst status' },
	legend_case: { zh: '未结案件（圈色为级别）', en: 'Open case (ring colour = level)' },
	basemap: { zh: '底图', en: 'Basemap' },
	basemap_own: { zh: '本地底图', en: 'Own data (offline)' },
	live: { zh: '实时', en: 'Live' },
	reconnecting: { zh: '正在重连…', en: 'Reconnecting…' },
	last_update: { zh: '最近更新', en: 'Last update' },
	last_seen: { zh: '最近上报', en: 'Last seen' },
	never: { zh: '从未', en: 'never' },
	village: { zh: '所属村', en: 'Village' },
	close: { zh: '关闭', en: 'Close' },
	lang: { zh: 'English', en: '中文' },
	admin: { zh: '管理', en: 'Admin' },
	queue: { zh: '告警队列', en: 'Alarm queue' },
	report: { zh: '现场上报', en: 'Field report' },
	followups: { zh: '待回访', en: 'Follow-up visits due' },
	no_cases: { zh: '没有待处理的案件', en: 'No open cases' },
	unacknowledged: { zh: '未受理', en: 'Not acknowledged' },
	queue_failed: { zh: '案件数据读取失败，正在重试——不代表没有告警', en: 'Could not load the cases; retrying — this does not mean there are no alarms' },
	queue_stale: { zh: '案件数据更新失败，显示的是此前读取的数据：', en: 'Could not update the cases; showing figures read at' },
	prev_page: { zh: '上一页', en: 'Previous' },
	next_page: { zh: '下一页', en: 'Next' },
	map_cases_cap: { zh: '地图只标出最紧急的 {n} 件；数量与队列包含全部案件', en: 'The map marks the {n} most urgent cases; counts and queue include every case' },
	overdue: { zh: '超期', en: 'Overdue' },
	accept: { zh: '受理', en: 'Accept' },
	dispatch: { zh: '派遣', en: 'Dispatch' },
	details: { zh: '详情', en: 'Details' },
	// No emoji: a duty-room PC or a headless kiosk may have no emoji font, and a box where the bell was says nothing.
	sound_on: { zh: '声音：开', en: 'Sound: on' },
	sound_off: { zh: '声音：关（点击开启）', en: 'Sound: off (click to enable)' },
	responsible: { zh: '责任人', en: 'Responsible' },
	open_cases: { zh: '未结案件', en: 'Open cases' },
	health: { zh: '设备健康', en: 'Device health' },
	offline_n: { zh: '离线', en: 'offline' },
	no_data_n: { zh: '无测量数据', en: 'no measurement data' },
	last_measured: { zh: '最后测量', en: 'Last measurement' },
	low_battery: { zh: '低电量', en: 'low battery' },
	duty_today: { zh: '今日值班', en: 'On duty today' },
	ack_due: { zh: '受理时限', en: 'Acknowledge by' },
	choose_cadre: { zh: '派遣给…', en: 'Dispatch to…' },
	back: { zh: '返回', en: 'Back' },
	logout: { zh: '退出', en: 'Sign out' },
	loading_sensors: { zh: '正在载入监测点…', en: 'Loading sensors…' },
	sensors_failed: { zh: '监测点载入失败，正在重试', en: 'Could not load the sensors; retrying' },
	loading: { zh: '载入中…', en: 'Loading…' },
	click_hint: { zh: '点击地图上的监测点查看读数', en: 'Click a sensor on the map to see its readings' },
	clock_flag: { zh: '设备时钟不可信，按接收时间记录', en: 'device clock untrusted: stored at receipt time' },
	// Leaders' review (/review, issue 7)
	rv_link: { zh: '复盘统计', en: 'Review' },
	rv_title: { zh: '值班处置复盘', en: "Leaders' review" },
	rv_cases_title: { zh: '案件查询', en: 'Cases' },
	rv_report_title: { zh: '月度通报', en: 'Monthly report' },
	rv_map: { zh: '一张图', en: 'Map' },
	rv_period: { zh: '时段', en: 'Period' },
	rv_last7: { zh: '近7天', en: 'Last 7 days' },
	rv_last30: { zh: '近30天', en: 'Last 30 days' },
	rv_last90: { zh: '近90天', en: 'Last 90 days' },
	rv_this_month: { zh: '本月', en: 'This month' },
	rv_last_month: { zh: '上月', en: 'Last month' },
	rv_from: { zh: '起', en: 'From' },
	rv_to: { zh: '止', en: 'To' },
	rv_apply: { zh: '查询', en: 'Apply' },
	rv_reset: { zh: '清除', en: 'Clear' },
	rv_any: { zh: '全部', en: 'Any' },
	rv_open: { zh: '未结', en: 'Open' },
	rv_search: { zh: '搜索标题、描述、村、干部或编号', en: 'Search title, description, village, cadre or id' },
	rv_demo_note: { zh: '本时段含演示案件（虚构，标题带【演示】），统计照常按记录计算。', en: 'This period includes demo cases (invented, titled 【演示】); figures are computed from their records as usual.' },
	rv_export_cases: { zh: '导出案件 CSV', en: 'Export cases (CSV)' },
	rv_export_stats: { zh: '导出统计 CSV', en: 'Export figures (CSV)' },
	rv_cases: { zh: '案件数', en: 'Cases' },
	rv_ack_rate: { zh: '按时受理率', en: 'On-time acknowledge' },
	rv_resolve_rate: { zh: '按期处置率', en: 'On-time resolve' },
	rv_ack_time: { zh: '受理用时', en: 'Time to acknowledge' },
	rv_arrive_time: { zh: '到场用时', en: 'Time to site' },
	rv_resolve_time: { zh: '处置用时', en: 'Time to resolve' },
	rv_median: { zh: '中位', en: 'median' },
	rv_p90: { zh: 'P90', en: 'p90' },
	rv_overdue: { zh: '超期', en: 'Overdue' },
	rv_reopened: { zh: '返工', en: 'Reopened' },
	rv_backlog: { zh: '挂账', en: 'Open backlog' },
	rv_by_village: { zh: '各村', en: 'By village' },
	rv_by_cadre: { zh: '各包村干部', en: 'By cadre' },
	rv_name: { zh: '名称', en: 'Name' },
	rv_dist: { zh: '响应用时分布', en: 'Response-time distribution' },
	rv_over_time: { zh: '案件走势（按周）', en: 'Cases over time (weekly)' },
	rv_by_category: { zh: '按类别', en: 'by category' },
	rv_by_level: { zh: '按级别', en: 'by level' },
	rv_case_map: { zh: '本时段案件分布', en: "The period's cases" },
	rv_definitions: { zh: '指标说明', en: 'Definitions' },
	rv_none: { zh: '本时段没有案件', en: 'No cases in this period' },
	rv_status: { zh: '状态', en: 'Status' },
	rv_level: { zh: '级别', en: 'Level' },
	rv_category: { zh: '类别', en: 'Category' },
	rv_village: { zh: '村', en: 'Village' },
	rv_cadre: { zh: '包村干部', en: 'Cadre' },
	rv_opened: { zh: '上报时间', en: 'Opened' },
	rv_title_col: { zh: '标题', en: 'Title' },
	rv_only_overdue: { zh: '仅超期', en: 'Overdue only' },
	rv_not_overdue: { zh: '未超期', en: 'Not overdue' },
	rv_only_reopened: { zh: '仅返工', en: 'Reopened only' },
	rv_found: { zh: '共 {n} 件', en: '{n} cases' },
	rv_prev: { zh: '上一页', en: 'Previous' },
	rv_next: { zh: '下一页', en: 'Next' },
	rv_page: { zh: '第 {p} / {n} 页', en: 'Page {p} of {n}' },
	rv_minutes: { zh: '分钟', en: 'min' },
	rv_bad_filter: { zh: '筛选条件有误', en: 'Bad filter' },
	rv_month: { zh: '月份', en: 'Month' },
	rv_print: { zh: '打印 / 另存为 PDF', en: 'Print / save as PDF' },
	rv_summary: { zh: '总体情况', en: 'Overview' },
	rv_overdue_list: { zh: '超期与返工案件', en: 'Overdue and reopened cases' },
	rv_instructions: { zh: '领导批示', en: 'Leader instructions' },
	rv_no_instructions: { zh: '本月无领导批示', en: 'No leader instructions this month' },
	rv_generated: { zh: '生成时间', en: 'Generated' },
	rv_duty_room: { zh: '值班室（村外/无包村干部）', en: 'Duty room (outside villages / no cadre)' },
	rv_yes: { zh: '是', en: 'yes' },
	rv_view: { zh: '查看', en: 'View' },
	// the case page (/incidents/[id])
	case: { zh: '案件', en: 'Case' },
	back_to_map: { zh: '← 一张图', en: '← Township map' },
	outside_villages: { zh: '村外', en: 'Outside every village' },
	escalated: { zh: '已升级至 L{n}', en: 'Escalated to L{n}' },
	done: { zh: '已完成', en: 'done' },
	actions: { zh: '可办理', en: 'Actions' },
	assign_to: { zh: '派遣给', en: 'Assign to' },
	choose_a_cadre: { zh: '— 选择干部 —', en: '— choose a cadre —' },
	note: { zh: '备注', en: 'Note' },
	reject_reason: { zh: '不予受理的理由', en: 'Reason for rejecting' },
	locating: { zh: '定位中…', en: 'Locating…' },
	add_location: { zh: '附上我的位置', en: 'Add my location' },
	no_geolocation: { zh: '此设备不支持定位', en: 'This device cannot give a location' },
	location_failed: { zh: '定位失败', en: 'Location failed' },
	deadlines: { zh: '时限', en: 'Deadlines' },
	acknowledged: { zh: '已受理', en: 'Acknowledged' },
	resolve_due: { zh: '处置时限', en: 'Resolve by' },
	resolved: { zh: '处置完毕', en: 'Resolved' },
	opened: { zh: '上报', en: 'Opened' },
	closed: { zh: '结案', en: 'Closed' },
	call: { zh: '拨打', en: 'Call' },
	nobody_outside: { zh: '无（村外，由值班室处理）', en: 'None — outside every village, the duty room handles it' },
	assignee: { zh: '被派遣', en: 'Assignee' },
	sensor_data: { zh: '监测数据', en: 'Sensor' },
	timeline: { zh: '过程', en: 'Timeline' },
	location: { zh: '位置', en: 'Location' },
	// the sensor chart
	chart_loading: { zh: '加载中…', en: 'Loading…' },
	chart_empty: { zh: '该时段无数据', en: 'No data in this range' },
	chart_failed: { zh: '加载失败', en: 'Could not load' },
	chart_thresholds: { zh: '阈值', en: 'Thresholds' },
	chart_no_thresholds: { zh: '此指标无可画的阈值线', en: 'No threshold line for this metric' },
	chart_alarms: { zh: '告警', en: 'Alarms' },
	chart_latest: { zh: '最新', en: 'Latest' },
	chart_case: { zh: '案件时段', en: 'Case period' },
	chart_band: { zh: '阴影：每{u}最小–最大', en: 'band: min–max per {u}' },
	chart_band_hour: { zh: '小时', en: 'hour' },
	chart_band_day: { zh: '日', en: 'day' },
	chart_truncated: { zh: '仅显示最近 5000 个读数', en: 'only the newest 5000 readings shown' },
	chart_raw: { zh: '原始读数', en: 'raw readings' },
	chart_hour: { zh: '小时均值', en: 'hourly mean' },
	chart_day: { zh: '日均值', en: 'daily mean' },
	// the admin pages' navigation
	ad_villages: { zh: '行政村', en: 'Villages' },
	ad_cadres: { zh: '干部与包村', en: 'Cadres' },
	ad_roster: { zh: '值班表', en: 'Roster' },
	ad_devices: { zh: '设备', en: 'Devices' },
	ad_tokens: { zh: '接口令牌', en: 'API tokens' },
	ad_dead_letters: { zh: '死信', en: 'Dead letters' },
	ad_audit: { zh: '审计', en: 'Audit log' },
	ad_account: { zh: '账号', en: 'Account' },
	ad_map: { zh: '← 一张图', en: '← Map' }
} as const satisfies Record<string, Bilingual>;

/** Every table of the catalogue, by name. */
export const CATALOGUE = {
	kind: KIND,
	status: STATUS_NAMES,
	case_level: CASE_LEVEL,
	role: ROLE,
	case_status: CASE_STATUS,
	category: CATEGORY,
	action: ACTION,
	device_event: DEVICE_EVENT,
	ui: UI
} as const;

export type Catalogue = keyof typeof CATALOGUE;
export type LabelKey<C extends Catalogue> = keyof (typeof CATALOGUE)[C] & string;
export type UiKey = LabelKey<'ui'>;

const reported = new Set<string>();

/**
 * The name of `key` in `catalogue`, in `lang`. A null key (nothing to name, such as a case with no level) is "—".
 * Keys arrive from the database and the API as plain strings; one that no table knows is shown as 「key?」 and
 * reported once as a console error (which the browser tests fail on), so a missing label is seen rather than passed
 * off as a name.
 */
export function label<C extends Catalogue>(catalogue: C, key: LabelKey<C> | (string & {}) | null | undefined, lang: Lang): string {
	if (key === null || key === undefined) return '—';
	const table: Readonly<Record<string, Bilingual>> = CATALOGUE[catalogue];
	const found = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
	if (found) return found[lang];
	if (!reported.has(`${catalogue}:${key}`)) {
		reported.add(`${catalogue}:${key}`);
		console.error(`label: no ${catalogue} label for "${key}" / 标签目录缺少 ${catalogue}.${key}`);
	}
	return `「${key}?」`;
}

/** Whether `key` names an entry of `catalogue` (for lists built from data, such as filter options). */
export function hasLabel(catalogue: Catalogue, key: string): boolean {
	return Object.prototype.hasOwnProperty.call(CATALOGUE[catalogue], key);
}
