import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Alert, Button, Form, Input } from 'antd'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { api, isApiError } from '../api/http'
import type { Session } from '../api/types'
import { rememberSession, useSession } from '../session/session'
import { ProblemAlert } from './problem-alert'

interface SignIn {
  username: string
  password: string
  totpCode?: string
}

/** Password first; when the server asks for the second factor, the 6-digit code joins the form. */
export function LoginForm() {
  const { t } = useTranslation()
  const [form] = Form.useForm<SignIn>()
  const queryClient = useQueryClient()
  const { ended, clearEnded } = useSession()
  const [needsCode, setNeedsCode] = useState(false)
  const signIn = useMutation({
    mutationFn: ({ username, password, totpCode }: SignIn) =>
      api<Session>('/api/v1/auth/login', {
        method: 'POST',
        body: { username: username.trim(), password, ...(needsCode && totpCode && { totpCode }) },
        sessionAware: false,
      }),
    onSuccess: (session) => {
      clearEnded()
      // The session gate moves on to the first-login steps or the console.
      rememberSession(queryClient, session)
    },
    onError: (error) => {
      if (isApiError(error) && error.code === 'SECOND_FACTOR_REQUIRED') setNeedsCode(true)
      if (isApiError(error) && error.code === 'SECOND_FACTOR_INVALID') form.setFieldValue('totpCode', '')
    },
  })

  useEffect(() => {
    if (needsCode) form.getFieldInstance('totpCode')?.focus?.()
  }, [needsCode, form])

  // Asking for the code is a step of sign-in, not a failure worth a red alert.
  const failure = isApiError(signIn.error) && signIn.error.code === 'SECOND_FACTOR_REQUIRED' ? null : signIn.error

  return (
    <Form<SignIn>
      form={form}
      data-testid="login-form"
      layout="vertical"
      size="large"
      requiredMark={false}
      disabled={signIn.isPending}
      onFinish={(values) => signIn.mutate(values)}
    >
      {ended && <Alert className="login-error" type="info" showIcon title={t('login.sessionEnded')} />}
      <Form.Item
        name="username"
        label={t('login.username')}
        rules={[{ required: true, whitespace: true, message: <Translated k="login.usernameRequired" /> }]}
      >
        <Input
          data-testid="login-username"
          autoComplete="username"
          autoCapitalize="off"
          spellCheck={false}
          maxLength={64}
          placeholder={t('login.usernamePlaceholder')}
          onChange={() => setNeedsCode(false)}
        />
      </Form.Item>
      <Form.Item
        name="password"
        label={t('login.password')}
        rules={[{ required: true, message: <Translated k="login.passwordRequired" /> }]}
      >
        <Input.Password
          data-testid="login-password"
          autoComplete="current-password"
          maxLength={128}
          placeholder={t('login.passwordPlaceholder')}
        />
      </Form.Item>
      {needsCode && (
        <Form.Item
          name="totpCode"
          label={t('login.totp')}
          extra={t('login.totpHint')}
          rules={[{ required: true, pattern: /^\d{6}$/, message: <Translated k="login.totpInvalid" /> }]}
        >
          <Input
            data-testid="login-totp"
            autoComplete="one-time-code"
            inputMode="numeric"
            maxLength={6}
            placeholder="123456"
          />
        </Form.Item>
      )}
      {!needsCode && <p className="login-note">{t('login.secondFactor')}</p>}
      {failure ? <ProblemAlert className="login-error" error={failure} testId="login-error" /> : null}
      <Button
        className="login-submit"
        data-testid="login-submit"
        type="primary"
        htmlType="submit"
        block
        loading={signIn.isPending}
      >
        {t('login.submit')}
      </Button>
    </Form>
  )
}
