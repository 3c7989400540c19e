// Built-in profiles for hardware townships buy, each following its vendor's published decoder output (the JSON the
// vendor's own codec produces in ChirpStack, The Things Stack or their MQTT), and each tested against samples in
// tests/fixtures/profiles/<name>/. Key names and units below are the vendors'; `source` says where they are published.
import type { DeviceProfileInput } from './schema.js';

/** Keys every Milesight codec may add from its attribute and downlink-response channels: nothing to store. */
const MILESIGHT_ATTRIBUTES = ['ipso_version', 'hardware_version', 'firmware_version', 'tsl_version', 'sn', 'lorawan_class', 'reset_event', 'device_status', 'report_interval', 'collection_interval', 'reboot', 'query_device_status'];

export const BUILTIN_PROFILE_INPUTS = [
	{
		name: 'milesight-em500-swl',
		label: { zh: 'Milesight EM500-SWL 投入式水位计', en: 'Milesight EM500-SWL submersible water level' },
		source: 'https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em500-swl (README "Telemetry": battery %, depth cm; em500-swl-decoder.js)',
		notes: {
			zh: 'depth 是传感器以上的水深（厘米）。要换算到水位基面，在设备的附加字段里给 depth 一个 offset（米以外的单位按 cm 计）。',
			en: 'depth is the water above the sensor, in cm. To refer it to a datum, give depth an offset in the device’s own profile fields (in cm, the source unit).'
		},
		fields: [
			{ path: 'depth', metric: 'water_level_m', unit: 'cm' },
			{ path: 'battery', metric: 'battery_pct', unit: '%' }
		],
		ignore: [...MILESIGHT_ATTRIBUTES, 'measuring_equipment'],
		faults: ['depth_error'],
		// Readings kept through an outage (channel 0x20 0xCE: timestamp in epoch seconds + depth).
		series: { path: 'history', time: { path: 'timestamp', unit: 's' }, fields: [{ path: 'depth', metric: 'water_level_m', unit: 'cm' }], faults: ['depth_error'] }
	},
	{
		name: 'milesight-em500-udl',
		label: { zh: 'Milesight EM500-UDL 超声波水位计', en: 'Milesight EM500-UDL ultrasonic level' },
		source: 'https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em500-udl (README "Telemetry": battery %, distance mm; em500-udl-decoder.js)',
		notes: {
			zh: '超声波测的是探头到水面的距离：水位 = 安装高度 − 距离。每台设备须在附加字段里给 distance 设 offset（安装高度，毫米），否则读数留在死信里待补。',
			en: 'An ultrasonic gauge measures the distance down to the water: level = mount height − distance. Each device needs an offset for distance (its mount height, in mm) in its own profile fields; until then readings wait in the dead letters.'
		},
		fields: [
			{ path: 'distance', metric: 'water_level_m', unit: 'mm', scale: -1, offsetPerDevice: true },
			{ path: 'battery', metric: 'battery_pct', unit: '%' }
		],
		ignore: [...MILESIGHT_ATTRIBUTES, 'distance_mutation', 'distance_alarm', 'distance_alarm_config', 'distance_mutation_alarm_config'],
		series: { path: 'history', time: { path: 'timestamp', unit: 's' }, fields: [{ path: 'distance', metric: 'water_level_m', unit: 'mm', scale: -1, offsetPerDevice: true }] }
	},
	{
		name: 'milesight-em310-tilt',
		label: { zh: 'Milesight EM310-TILT 倾角传感器', en: 'Milesight EM310-TILT tilt sensor' },
		source: 'https://github.com/Milesight-IoT/SensorDecoders/tree/main/em-series/em310-tilt (README "Telemetry": angle_x/y/z int16/100 °, threshold_x/y/z normal|trigger; em310-tilt-decoder.js)',
		notes: {
			zh: 'angle_z 与 threshold_* 是设备自身的报警标志，shudi 按自己的规则判级，故忽略。',
			en: 'angle_z and threshold_* are the device’s own alarm flags; shudi judges levels by its own rules, so they are ignored.'
		},
		fields: [
			{ path: 'angle_x', metric: 'tilt_x_deg', unit: '°' },
			{ path: 'angle_y', metric: 'tilt_y_deg', unit: '°' },
			{ path: 'battery', metric: 'battery_pct', unit: '%' }
		],
		ignore: [...MILESIGHT_ATTRIBUTES, 'angle_z', 'threshold_x', 'threshold_y', 'threshold_z', 'angle_x_alarm_config', 'angle_y_alarm_config', 'angle_z_alarm_config']
	},
	{
		name: 'dragino-ldds75',
		label: { zh: 'Dragino LDDS75 超声波测距（水位）', en: 'Dragino LDDS75 ultrasonic distance (level)' },
		source: 'https://github.com/dragino/dragino-end-node-decoder/tree/main/LDDS75 (LDDS751.1.4_ChirpstackV4_Decoder.txt: Bat "3.384 V", Distance "1234 mm"; LDDS75 decoder--TTN.txt: numbers, "No Sensor", "Invalid Reading")',
		notes: {
			zh: '水位 = 安装高度 − 距离：每台设备须在附加字段里给 Distance 设 offset（安装高度，毫米）。',
			en: 'Level = mount height − distance: each device needs an offset for Distance (mount height, in mm) in its own profile fields.'
		},
		fields: [
			{ path: 'Distance', metric: 'water_level_m', unit: 'mm', scale: -1, offsetPerDevice: true, enum: { 'No Sensor': 'fault', 'Invalid Reading': 'fault' } },
			{ path: 'Bat', metric: 'battery_v', unit: 'V' }
		],
		ignore: ['Node_type', 'Interrupt_flag', 'Interrupt_status', 'Sensor_flag', 'TempC_DS18B20']
	},
	{
		name: 'dragino-lse01',
		label: { zh: 'Dragino LSE01 土壤水分/电导率', en: 'Dragino LSE01 soil moisture & EC' },
		source: 'https://github.com/dragino/dragino-end-node-decoder/tree/main/LSE01 (TTN Decoder_V1.1.4: Bat "3.384 V", text numbers; ChirpstackV4_Decoder V1.2.1: BatV, numbers); wiki.dragino.com LSE01 user manual §2.3',
		notes: {
			zh: '电导率 conduct_SOIL 与外接 DS18B20 温度暂无对应指标，忽略；temp_SOIL 记为温度。',
			en: 'Conductivity (conduct_SOIL) and the optional DS18B20 probe have no shudi metric and are ignored; temp_SOIL is stored as temperature.'
		},
		fields: [
			{ path: 'water_SOIL', metric: 'soil_moisture_pct', unit: '%' },
			{ path: 'temp_SOIL', metric: 'temperature_c', unit: '°C' },
			{ path: 'BatV', metric: 'battery_v', unit: 'V' },
			{ path: 'Bat', metric: 'battery_v', unit: 'V' }
		],
		ignore: ['conduct_SOIL', 'temp_DS18B20', 'TempC_DS18B20', 'Soil_dielectric_constant', 'Raw_water_SOIL', 'Raw_conduct_SOIL', 's_flag', 'i_flag', 'Sensor_flag', 'Interrupt_flag', 'Mod', 'Node_type']
	},
	{
		name: 'dtu-json',
		label: { zh: 'RS485 转 4G DTU（JSON，data 嵌套）', en: 'RS485-to-4G DTU (JSON, nested data)' },
		source: 'https://docs.holdingbyte.com/products/dtu/post-data-through-http.html ("Data Format": imei, time in epoch seconds, iccid, data{…} with installer-named keys, null when a read fails)',
		notes: {
			zh: 'DTU 里把各寄存器的键名设成 shudi 指标名（如 water_level_m），或在设备附加字段里映射 data.<键名>。时间为秒/毫秒自动判别；无时区的时间串按 TZ_DISPLAY 解读。',
			en: 'Name each register’s key after a shudi metric in the DTU (e.g. water_level_m), or map data.<key> in the device’s own profile fields. Epoch s/ms told apart by size; a time string without a zone is read in TZ_DISPLAY.'
		},
		fields: [],
		ignore: ['imei', 'iccid', 'csq'],
		nativeUnder: 'data',
		time: { path: 'time', unit: 'auto' }
	},
	{
		name: 'thingsboard-keys',
		label: { zh: 'ThingsBoard 风格键名', en: 'ThingsBoard-style keys' },
		source: 'https://thingsboard.io/docs/reference/mqtt-api/ ("Telemetry upload": {"key": value}, {"ts": ms, "values": {…}}; keys are the firmware’s own, e.g. temperature, battery)',
		notes: {
			zh: 'ThingsBoard 不规定单位：此处按 waterLevel 米、temperature ℃、battery %、batteryVoltage V。单位不同的设备用附加字段覆盖同一路径。ts 可为秒或毫秒。',
			en: 'ThingsBoard fixes no units: here waterLevel is metres, temperature °C, battery %, batteryVoltage V. A device with other units overrides the same path in its own profile fields. ts may be seconds or milliseconds.'
		},
		fields: [
			{ path: 'waterLevel', metric: 'water_level_m', unit: 'm' },
			{ path: 'temperature', metric: 'temperature_c', unit: '°C' },
			{ path: 'battery', metric: 'battery_pct', unit: '%' },
			{ path: 'batteryVoltage', metric: 'battery_v', unit: 'V' },
			{ path: 'rssi', metric: 'rssi_dbm', unit: 'dBm' }
		],
		ignore: ['humidity'],
		time: { path: 'ts', unit: 'auto' }
	}
] as const satisfies readonly DeviceProfileInput[];
