import { useTranslation } from 'react-i18next'
import { LogoMark } from '../../../shared/src/logo-mark'

export function Brand() {
  const { t } = useTranslation()
  return (
    <div className="brand">
      <LogoMark size={32} />
      <span className="brand__name" data-testid="product-name">
        {t('product.name')}
      </span>
      <span className="brand__area">{t('product.area')}</span>
    </div>
  )
}
