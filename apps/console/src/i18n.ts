import i18next from 'i18next'
import { initReactI18next } from 'react-i18next'
import { en } from './locales/en'
import { type Messages, zhCN } from './locales/zh-CN'

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation'
    resources: { translation: Messages }
  }
}

export const languages = ['zh-CN', 'en'] as const
export type Language = (typeof languages)[number]

const defaultLanguage: Language = 'zh-CN'
// Shared with the mobile app: both are served from the same origin, so one choice covers both.
const storageKey = 'yiqian.lang'

export function toLanguage(code: string | null | undefined): Language | undefined {
  const lower = code?.trim().toLowerCase()
  if (!lower) return undefined
  if (lower === 'en' || lower.startsWith('en-')) return 'en'
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN'
  return undefined
}

function storedLanguage(): Language | undefined {
  try {
    return toLanguage(localStorage.getItem(storageKey))
  } catch {
    // Storage can be blocked by browser policy; the default language is a fine fallback.
    return undefined
  }
}

function initialLanguage(): Language {
  return toLanguage(new URLSearchParams(window.location.search).get('lang')) ?? storedLanguage() ?? defaultLanguage
}

/** Applies an explicit user choice and remembers it for the next visit. */
export function chooseLanguage(language: Language): void {
  try {
    localStorage.setItem(storageKey, language)
  } catch {
    // Without storage the choice still holds for this page view.
  }
  // A leftover ?lang= would override the stored choice on reload.
  const url = new URL(window.location.href)
  if (url.searchParams.has('lang')) {
    url.searchParams.delete('lang')
    window.history.replaceState(window.history.state, '', url)
  }
  void i18next.changeLanguage(language)
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
