// Colours for statuses and kinds on the map. The four warning colours follow the national 蓝/黄/橙/红 convention;
// normal is green, offline grey, unknown (never reported) hollow light grey, maintenance purple.
import type { SensorKind, SensorStatus } from './types';

export const STATUS_COLOURS: Record<SensorStatus, string> = {
	normal: '#2e9d4f',
	blue: '#1f6fd1',
	yellow: '#e6c200',
	orange: '#f07c00',
	red: '#d7191c',
	offline: '#7a7a7a',
	unknown: '#c8c8c8',
	maintenance: '#8e5bd6'
};

export const KIND_COLOURS: Record<SensorKind, string> = {
	river_level: '#0b62a4',
	house_tilt: '#8c510a',
	crack: '#bf812d',
	settlement: '#6a3d9a',
	rain_gauge: '#01665e',
	displacement: '#b2182b',
	soil_moisture: '#4d9221'
};

export const KIND_LABELS: Record<SensorKind, { zh: string; en: string }> = {
	river_level: { zh: '水位', en: 'River level' },
	house_tilt: { zh: '危房倾斜', en: 'House tilt' },
	crack: { zh: '裂缝', en: 'Crack' },
	settlement: { zh: '沉降', en: 'Settlement' },
	rain_gauge: { zh: '雨量', en: 'Rain gauge' },
	displacement: { zh: '位移', en: 'Displacement' },
	soil_moisture: { zh: '土壤含水', en: 'Soil moisture' }
};

export const STATUS_LABELS: Record<SensorStatus, { zh: string; en: string }> = {
	normal: { zh: '正常', en: 'Normal' },
	blue: { zh: '蓝色', en: 'Blue' },
	yellow: { zh: '黄色', en: 'Yellow' },
	orange: { zh: '橙色', en: 'Orange' },
	red: { zh: '红色', en: 'Red' },
	offline: { zh: '离线', en: 'Offline' },
	unknown: { zh: '未上报', en: 'Never reported' },
	maintenance: { zh: '维护中', en: 'Maintenance' }
};
