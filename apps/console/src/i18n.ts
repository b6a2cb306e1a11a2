import { startI18n } from '../../shared/src/i18n-setup'
import { en } from './locales/en'
import { type Messages, zhCN } from './locales/zh-CN'

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation'
    resources: { translation: Messages }
  }
}

export default startI18n({ 'zh-CN': { translation: zhCN }, en: { translation: en } })

export { chooseLanguage, type Language, languages, toLanguage } from '../../shared/src/language'
