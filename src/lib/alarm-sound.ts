// The alarm queue's sound: generated with WebAudio (no audio file, nothing fetched), two tones for red, one for
// orange. Browsers allow sound only after a user gesture; the console asks for one click to arm it.
let ctx: AudioContext | null = null;

export function armSound(): boolean {
	if (typeof window === 'undefined') return false;
	ctx ??= new AudioContext();
	if (ctx.state === 'suspended') void ctx.resume();
	return ctx.state !== 'closed';
}

export function beep(level: 'red' | 'orange'): void {
	if (!ctx || ctx.state !== 'running') return;
	const tones = level === 'red' ? [880, 660, 880, 660] : [660, 660];
	tones.forEach((f, i) => {
		const o = ctx!.createOscillator();
		const g = ctx!.createGain();
		o.frequency.value = f;
		o.type = 'square';
		g.gain.value = 0.08;
		o.connect(g).connect(ctx!.destination);
		const t = ctx!.currentTime + i * 0.28;
		o.start(t);
		o.stop(t + 0.22);
	});
}
