import { useTranslation } from 'react-i18next'

export function AppFooter() {
  const { t } = useTranslation()
  return (
    <footer className="app-footer">
      <span>{t('product.name')}</span>
      <span aria-hidden="true">·</span>
      <span>
        {t('product.versionLabel')} <span data-testid="product-version">{__YIQIAN_VERSION__}</span>
      </span>
    </footer>
  )
}
