// UI strings: zh-CN first, English second. The chosen language is kept in localStorage on the device.
const STRINGS = {
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
	low_battery: { zh: '低电量', en: 'low battery' },
	duty_today: { zh: '今日值班', en: 'On duty today' },
	ack_due: { zh: '受理时限', en: 'Acknowledge by' },
	choose_cadre: { zh: '派遣给…', en: 'Dispatch to…' },
	back: { zh: '返回', en: 'Back' },
	logout: { zh: '退出', en: 'Sign out' },
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
	location: { zh: '位置', en: 'Location' }
} as const;

export type StringKey = keyof typeof STRINGS;
export type Lang = 'zh' | 'en';

class I18n {
	lang = $state<Lang>('zh');

	constructor() {
		if (typeof localStorage !== 'undefined') {
			const saved = localStorage.getItem('shudi.lang');
			if (saved === 'en' || saved === 'zh') this.lang = saved;
		}
	}

	t = (key: StringKey): string => STRINGS[key][this.lang];

	pick = (labels: { zh: string; en: string }): string => labels[this.lang];

	toggle = (): void => {
		this.lang = this.lang === 'zh' ? 'en' : 'zh';
		if (typeof localStorage !== 'undefined') localStorage.setItem('shudi.lang', this.lang);
		if (typeof document !== 'undefined') document.documentElement.lang = this.lang === 'zh' ? 'zh-CN' : 'en';
	};
}

export const i18n = new I18n();
