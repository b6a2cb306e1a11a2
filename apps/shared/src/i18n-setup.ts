import i18next, { type Resource } from 'i18next'
import { initReactI18next } from 'react-i18next'
import { defaultLanguage, initialLanguage, languages } from './language'

/**
 * Starts i18next for an app with its own zh-CN and English messages: the page language and title follow every
 * language change. Each app still declares its message type for i18next (CustomTypeOptions) in its i18n.ts.
 */
export function startI18n(messages: { 'zh-CN': Resource[string]; en: Resource[string] }): typeof i18next {
  i18next.on('languageChanged', (code) => {
    document.documentElement.lang = code
    document.title = i18next.t('document.title')
  })
  void i18next.use(initReactI18next).init({
    resources: messages,
    lng: initialLanguage(),
    fallbackLng: defaultLanguage,
    supportedLngs: languages,
    // Resources are bundled, so initialise synchronously and render translated text on the first paint.
    initAsync: false,
    interpolation: { escapeValue: false },
  })
  return i18next
}
