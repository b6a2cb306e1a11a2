import i18next from 'i18next'

// Language choice shared by the console and the mobile app: both are served from the same origin, so one
// stored choice covers both.

export const languages = ['zh-CN', 'en'] as const
export type Language = (typeof languages)[number]

export const defaultLanguage: Language = 'zh-CN'
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

export function initialLanguage(): Language {
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
