import i18next from 'i18next'
import { initReactI18next } from 'react-i18next'
import { defaultLanguage, initialLanguage, languages } from '../../shared/src/language'
import { en } from './locales/en'
import { type Messages, zhCN } from './locales/zh-CN'

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation'
    resources: { translation: Messages }
  }
}

i18next.on('languageChanged', (code) => {
  document.documentElement.lang = code
  document.title = i18next.t('document.title')
})

void i18next.use(initReactI18next).init({
  resources: { 'zh-CN': { translation: zhCN }, en: { translation: en } },
  lng: initialLanguage(),
  fallbackLng: defaultLanguage,
  supportedLngs: languages,
  // Resources are bundled, so initialise synchronously and render translated text on the first paint.
  initAsync: false,
  interpolation: { escapeValue: false },
})

export default i18next

export { chooseLanguage, type Language, languages, toLanguage } from '../../shared/src/language'
