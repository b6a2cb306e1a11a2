import { Button, Form, Input } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { attemptLogin, type Credentials, type LoginFailure } from '../../../shared/src/login'
import { Translated } from '../../../shared/src/translated'
import { LoginError } from './login-error'

const loginPath = '/api/v1/auth/login'

export function LoginForm() {
  const { t, i18n } = useTranslation()
  const [submitting, setSubmitting] = useState(false)
  const [failure, setFailure] = useState<LoginFailure | null>(null)

  const onFinish = async ({ username, password }: Credentials) => {
    setSubmitting(true)
    setFailure(null)
    try {
      setFailure(await attemptLogin(loginPath, { username: username.trim(), password }, i18n.language))
    } finally {
      setSubmitting(false)
    }
  }

  return (
    <Form<Credentials>
      data-testid="login-form"
      layout="vertical"
      size="large"
      requiredMark={false}
      disabled={submitting}
      onFinish={onFinish}
    >
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
          placeholder={t('login.usernamePlaceholder')}
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
          placeholder={t('login.passwordPlaceholder')}
        />
      </Form.Item>
      <p className="login-note">{t('login.secondFactor')}</p>
      {failure && <LoginError failure={failure} />}
      <Button
        className="login-submit"
        data-testid="login-submit"
        type="primary"
        htmlType="submit"
        block
        loading={submitting}
      >
        {t('login.submit')}
      </Button>
    </Form>
  )
}
