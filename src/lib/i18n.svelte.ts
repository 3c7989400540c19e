// The interface language: zh-CN by default, English on request, kept in localStorage on the device so every page —
// console, case, review and admin — opens in the language chosen last. Names come from the label catalogue
// (src/lib/domain/labels.ts) through its one lookup.
import { label, type Catalogue, type LabelKey, type Lang, type UiKey } from './domain/labels';

export type StringKey = UiKey;
export type { Lang };

class I18n {
	lang = $state<Lang>('zh');

	constructor() {
		if (typeof localStorage !== 'undefined') {
			const saved = localStorage.getItem('shudi.lang');
			if (saved === 'en' || saved === 'zh') this.lang = saved;
		}
	}

	/** An interface string in the chosen language. */
	t = (key: StringKey): string => label('ui', key, this.lang);

	/** A catalogue name (kind, status, role, category …) in the chosen language. */
	label = <C extends Catalogue>(catalogue: C, key: LabelKey<C> | (string & {}) | null | undefined): string => label(catalogue, key, this.lang);

	pick = (labels: { zh: string; en: string }): string => labels[this.lang];

	/** Wording one page alone uses (an admin form's hint, a column heading), given in place, Chinese first. */
	tr = (zh: string, en: string): string => (this.lang === 'zh' ? zh : en);

	toggle = (): void => {
		this.lang = this.lang === 'zh' ? 'en' : 'zh';
		if (typeof localStorage !== 'undefined') localStorage.setItem('shudi.lang', this.lang);
		if (typeof document !== 'undefined') document.documentElement.lang = this.lang === 'zh' ? 'zh-CN' : 'en';
	};
}

export const i18n = new I18n();
