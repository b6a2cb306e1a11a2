import { Alert } from 'antd'
import { useTranslation } from 'react-i18next'
import type { LoginFailure } from '../../../shared/src/login'

export function LoginError({ failure }: { failure: LoginFailure }) {
  const { t } = useTranslation()
  let title: string
  let detail: string | undefined
  if (failure.kind === 'problem') {
    title = failure.title ?? t('loginError.title')
    // Without a detail, the status code is the only thing support staff can go on.
    detail = failure.detail ?? t('loginError.status', { status: failure.status })
  } else {
    title = t('loginError.title')
    detail = t(failure.kind === 'network' ? 'loginError.network' : 'loginError.unsupported')
  }
  return (
    <Alert className="login-error" data-testid="login-error" type="error" showIcon title={title} description={detail} />
  )
}
