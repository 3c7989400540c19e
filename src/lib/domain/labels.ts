// Chinese-first labels for roles, statuses, categories and case actions (English second), shared by pages.
export const ROLE_LABELS: Record<string, { zh: string; en: string }> = {
	lead: { zh: '包村领导', en: 'Township lead' },
	cadre: { zh: '包村干部', en: 'Village cadre' },
	secretary: { zh: '村支书', en: 'Party secretary' },
	director: { zh: '村主任', en: 'Village head' },
	grid: { zh: '网格员', en: 'Grid worker' },
	duty_officer: { zh: '值班员', en: 'Duty officer' },
	duty_leader: { zh: '值班领导', en: 'Duty leader' }
};

export const CASE_STATUS_LABELS: Record<string, { zh: string; en: string }> = {
	reported: { zh: '待受理', en: 'Reported' },
	accepted: { zh: '已受理', en: 'Accepted' },
	dispatched: { zh: '已派遣', en: 'Dispatched' },
	in_progress: { zh: '处置中', en: 'In progress' },
	resolved: { zh: '待核查', en: 'Resolved' },
	closed: { zh: '已结案', en: 'Closed' },
	rejected: { zh: '不予受理', en: 'Rejected' }
};

export const CATEGORY_LABELS: Record<string, { zh: string; en: string }> = {
	flood: { zh: '汛情', en: 'Flood' },
	housing: { zh: '房屋安全', en: 'Housing' },
	geohazard: { zh: '地质灾害', en: 'Geohazard' },
	fire: { zh: '火情', en: 'Fire' },
	dispute: { zh: '矛盾纠纷', en: 'Dispute' },
	device: { zh: '设备故障', en: 'Device' },
	other: { zh: '其他', en: 'Other' }
};

/** Case actions and timeline events, human and system. */
export const ACTION_LABELS: Record<string, { zh: string; en: string }> = {
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

/** [Chinese, English] for a key of one of these tables; an unknown key is shown as itself. */
export function labelPair(table: Record<string, { zh: string; en: string }>, key: string | null): [string, string] {
	return key && table[key] ? [table[key].zh, table[key].en] : [key ?? '—', ''];
}
