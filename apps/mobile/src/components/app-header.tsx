import { useTranslation } from 'react-i18next'
import { LanguageSwitch } from '../../../shared/src/language-switch'
import { LogoMark } from '../../../shared/src/logo-mark'

export function AppHeader() {
  const { t } = useTranslation()
  return (
    <header className="app-header">
      <div className="app-header__bar">
        <LanguageSwitch />
      </div>
      <LogoMark size={56} />
      <div className="app-header__name" data-testid="product-name">
        {t('product.name')}
      </div>
      <div className="app-header__area">{t('product.area')}</div>
    </header>
  )
}
