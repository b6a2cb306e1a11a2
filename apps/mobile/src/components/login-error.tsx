import { useTranslation } from 'react-i18next'
import type { LoginFailure } from '../../../shared/src/login'

export function LoginError({ failure }: { failure: LoginFailure }) {
  const { t } = useTranslation()
  let title: string
  let detail: string
  if (failure.kind === 'problem') {
    title = failure.title ?? t('loginError.title')
    // Without a detail, the status code is the only thing support staff can go on.
    detail = failure.detail ?? t('loginError.status', { status: failure.status })
  } else {
    title = t('loginError.title')
    detail = t(failure.kind === 'network' ? 'loginError.network' : 'loginError.unsupported')
  }
  return (
    <div className="login-error" role="alert" data-testid="login-error">
      <strong className="login-error__title">{title}</strong>
      <p className="login-error__detail">{detail}</p>
    </div>
  )
}
