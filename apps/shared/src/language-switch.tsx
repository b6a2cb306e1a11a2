import type { MouseEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { chooseLanguage, type Language, languages, toLanguage } from './language'

/**
 * One button that shows both languages. Clicking a language's label picks it; clicking anywhere else (or the
 * keyboard) toggles, so both `click()` on the button and a click on "English" do the expected thing.
 */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation()
  const current = toLanguage(i18n.language) ?? 'zh-CN'

  const onClick = (event: MouseEvent<HTMLButtonElement>) => {
    const picked = toLanguage((event.target as HTMLElement).closest<HTMLElement>('[data-lang]')?.dataset.lang)
    const next: Language = picked ?? (current === 'en' ? 'zh-CN' : 'en')
    if (next !== current) chooseLanguage(next)
  }

  return (
    <button
      type="button"
      className="lang-switch"
      data-testid="lang-switch"
      title={t('language.switch')}
      onClick={onClick}
    >
      {languages.map((language) => (
        <span
          key={language}
          lang={language}
          data-lang={language}
          className={language === current ? 'lang-switch__option is-active' : 'lang-switch__option'}
        >
          {t(`language.${language}`)}
        </span>
      ))}
    </button>
  )
}
