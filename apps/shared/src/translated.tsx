import type { ParseKeys } from 'i18next'
import { useTranslation } from 'react-i18next'

/**
 * Text that re-renders itself when the language changes. Form rules keep their messages until the next
 * validation, so a message given as this element follows a language switch without re-validating.
 */
export function Translated({ k }: { k: ParseKeys }) {
  const { t } = useTranslation()
  return t(k)
}
