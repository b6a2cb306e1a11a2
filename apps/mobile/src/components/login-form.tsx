import { Button, Form } from 'antd-mobile'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { attemptLogin, type Credentials, type LoginFailure } from '../../../shared/src/login'
import { Translated } from '../../../shared/src/translated'
import { LoginError } from './login-error'
import { TextInput } from './text-input'

const loginPath = '/api/v1/auth/staff-login'

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
    <Form
      data-testid="login-form"
      layout="vertical"
      mode="card"
      requiredMarkStyle="none"
      disabled={submitting}
      onFinish={onFinish}
      footer={
        <>
          {failure && <LoginError failure={failure} />}
          <Button data-testid="login-submit" block type="submit" color="primary" size="large" loading={submitting}>
            {t('login.submit')}
          </Button>
        </>
      }
    >
      <Form.Item
        name="username"
        label={t('login.username')}
        rules={[{ required: true, whitespace: true, message: <Translated k="login.usernameRequired" /> }]}
      >
        <TextInput
          data-testid="login-username"
          autoComplete="username"
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          enterKeyHint="next"
          placeholder={t('login.usernamePlaceholder')}
        />
      </Form.Item>
      <Form.Item
        name="password"
        label={t('login.password')}
        rules={[{ required: true, message: <Translated k="login.passwordRequired" /> }]}
      >
        <TextInput
          data-testid="login-password"
          type="password"
          autoComplete="current-password"
          enterKeyHint="go"
          placeholder={t('login.passwordPlaceholder')}
        />
      </Form.Item>
    </Form>
  )
}
