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
	sound_on: { zh: '🔔 声音已开', en: '🔔 Sound on' },
	sound_off: { zh: '🔕 点击开启声音', en: '🔕 Click to enable sound' },
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
