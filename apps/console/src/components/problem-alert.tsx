import { Alert } from 'antd'
import { useTranslation } from 'react-i18next'
import { isApiError } from '../api/http'

/** Shows an API problem (title, detail, request id) or any other error as an inline alert. */
export function ProblemAlert({
  error,
  testId = 'problem',
  className,
}: {
  error: unknown
  testId?: string
  className?: string
}) {
  const { t } = useTranslation()
  if (!error) return null
  if (!isApiError(error)) {
    return (
      <Alert
        className={className}
        type="error"
        showIcon
        data-testid={testId}
        title={t('problem.unexpected')}
        description={String(error)}
      />
    )
  }
  const requestId = typeof error.body.requestId === 'string' ? error.body.requestId : undefined
  const lines = [
    error.detail,
    error.retryAfterSeconds ? t('problem.retryAfter', { minutes: Math.ceil(error.retryAfterSeconds / 60) }) : undefined,
    requestId ? t('problem.requestId', { id: requestId }) : undefined,
  ].filter(Boolean)
  return (
    <Alert
      className={className}
      type="error"
      showIcon
      data-testid={testId}
      title={error.title}
      description={lines.length > 0 ? lines.map((line) => <div key={line}>{line}</div>) : undefined}
    />
  )
}
