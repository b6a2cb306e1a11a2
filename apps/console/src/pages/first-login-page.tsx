import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Alert, Button, Form, Input, QRCode, Space, Steps, Typography } from 'antd'
import { useTranslation } from 'react-i18next'
import { AppFooter } from '../../../shared/src/app-footer'
import { LanguageSwitch } from '../../../shared/src/language-switch'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { Session, Stage } from '../api/types'
import { Brand } from '../components/brand'
import { ProblemAlert } from '../components/problem-alert'
import { sessionKey, useSession } from '../session/session'

/** Moves the cached session to the stage the server answered; at `active`, fetches it again for the permissions. */
function useStageUpdate() {
  const queryClient = useQueryClient()
  return (stage: Stage) => {
    if (stage === 'active') {
      void queryClient.invalidateQueries({ queryKey: sessionKey })
      return
    }
    queryClient.setQueryData<Session | null>(sessionKey, (old) => (old ? { ...old, stage } : old))
  }
}

interface PasswordChange {
  currentPassword: string
  newPassword: string
  confirmation: string
}

function PasswordStep() {
  const { t } = useTranslation()
  const [form] = Form.useForm<PasswordChange>()
  const moveTo = useStageUpdate()
  const change = useMutation({
    mutationFn: ({ currentPassword, newPassword }: PasswordChange) =>
      api<{ stage: Stage }>('/api/v1/auth/password', { method: 'POST', body: { currentPassword, newPassword } }),
    onSuccess: ({ stage }) => moveTo(stage),
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Form<PasswordChange>
      form={form}
      layout="vertical"
      requiredMark={false}
      disabled={change.isPending}
      onFinish={(values) => change.mutate(values)}
      data-testid="password-form"
    >
      <Alert type="info" showIcon title={t('firstLogin.passwordWhy')} description={t('firstLogin.passwordPolicy')} />
      <Form.Item
        name="currentPassword"
        label={t('firstLogin.currentPassword')}
        rules={[{ required: true, message: <Translated k="login.passwordRequired" /> }]}
      >
        <Input.Password data-testid="password-current" autoComplete="current-password" maxLength={128} />
      </Form.Item>
      <Form.Item
        name="newPassword"
        label={t('firstLogin.newPassword')}
        rules={[
          { required: true, message: <Translated k="firstLogin.newPasswordRequired" /> },
          { min: 8, message: <Translated k="firstLogin.newPasswordShort" /> },
        ]}
      >
        <Input.Password data-testid="password-new" autoComplete="new-password" maxLength={128} />
      </Form.Item>
      <Form.Item
        name="confirmation"
        label={t('firstLogin.confirmation')}
        dependencies={['newPassword']}
        rules={[
          { required: true, message: <Translated k="firstLogin.confirmationRequired" /> },
          ({ getFieldValue }) => ({
            validator: (_, value) =>
              !value || value === getFieldValue('newPassword')
                ? Promise.resolve()
                : Promise.reject(new Error(t('firstLogin.confirmationMismatch'))),
          }),
        ]}
      >
        <Input.Password data-testid="password-confirm" autoComplete="new-password" maxLength={128} />
      </Form.Item>
      <ProblemAlert error={change.error} testId="password-error" />
      <Button type="primary" htmlType="submit" loading={change.isPending} data-testid="password-submit" block>
        {t('firstLogin.changePassword')}
      </Button>
    </Form>
  )
}

interface Enrolment {
  secret: string
  uri: string
  ticket: string
}

function TotpStep() {
  const { t } = useTranslation()
  const [form] = Form.useForm<{ code: string }>()
  const moveTo = useStageUpdate()
  const { session } = useSession()
  // A query, not an effect: it is started once per account, even when React mounts twice in development.
  const enrolment = useQuery({
    queryKey: ['totp-enrolment', session?.account.id],
    queryFn: () => api<Enrolment>('/api/v1/auth/totp/enrolment', { method: 'POST' }),
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 0,
    retry: false,
  })
  const confirm = useMutation({
    mutationFn: ({ code }: { code: string }) =>
      api<{ stage: Stage }>('/api/v1/auth/totp/confirmation', {
        method: 'POST',
        body: { ticket: enrolment.data?.ticket, code },
      }),
    onSuccess: ({ stage }) => moveTo(stage),
    onError: (error) => {
      form.setFieldValue('code', '')
      showFieldProblems(form, error)
    },
  })
  if (enrolment.error) return <ProblemAlert error={enrolment.error} />
  const data = enrolment.data
  return (
    <Space direction="vertical" size="large" className="full-width">
      <Alert type="info" showIcon title={t('firstLogin.totpWhy')} description={t('firstLogin.totpApps')} />
      <div className="totp-enrolment">
        <QRCode value={data?.uri ?? '-'} status={data ? 'active' : 'loading'} size={184} data-testid="totp-qr" />
        <div>
          <Typography.Paragraph>{t('firstLogin.totpManual')}</Typography.Paragraph>
          <Typography.Text code copyable={data ? { text: data.secret } : false} data-testid="totp-secret">
            {data?.secret ?? '…'}
          </Typography.Text>
        </div>
      </div>
      <Form<{ code: string }>
        form={form}
        layout="vertical"
        requiredMark={false}
        disabled={!data || confirm.isPending}
        onFinish={(values) => confirm.mutate(values)}
      >
        <Form.Item
          name="code"
          label={t('firstLogin.totpCode')}
          rules={[{ required: true, pattern: /^\d{6}$/, message: <Translated k="login.totpInvalid" /> }]}
        >
          <Input
            data-testid="totp-code"
            autoComplete="one-time-code"
            inputMode="numeric"
            maxLength={6}
            placeholder="123456"
          />
        </Form.Item>
        <ProblemAlert error={confirm.error} testId="totp-error" />
        <Space>
          <Button type="primary" htmlType="submit" loading={confirm.isPending} data-testid="totp-submit">
            {t('firstLogin.confirmTotp')}
          </Button>
          <Button onClick={() => void enrolment.refetch()} disabled={enrolment.isFetching}>
            {t('firstLogin.newSecret')}
          </Button>
        </Space>
      </Form>
    </Space>
  )
}

/** The steps every account takes before it can use the console: a password of its own, then TOTP. */
export function FirstLoginPage() {
  const { t } = useTranslation()
  const { session, signOut: endSession } = useSession()
  const signOut = useMutation({ mutationFn: endSession })
  const current = session?.stage === 'password-change' ? 0 : 1
  return (
    <div className="page">
      <header className="topbar">
        <Brand />
        <LanguageSwitch />
      </header>
      <main className="page__main">
        <section
          className="login-card login-card--wide"
          data-testid="first-login"
          aria-labelledby="first-login-heading"
        >
          <h1 id="first-login-heading" className="login-card__heading">
            {t('firstLogin.heading')}
          </h1>
          <p className="login-card__audience">
            {t('firstLogin.intro', { name: session?.account.displayName ?? session?.account.username ?? '' })}
          </p>
          <Steps
            current={current}
            size="small"
            className="first-login__steps"
            items={[
              { title: t('firstLogin.stepPassword') },
              { title: t('firstLogin.stepTotp') },
              { title: t('firstLogin.stepDone') },
            ]}
          />
          {current === 0 ? <PasswordStep /> : <TotpStep />}
          <Button type="link" onClick={() => signOut.mutate()} data-testid="first-login-sign-out">
            {t('nav.signOut')}
          </Button>
        </section>
      </main>
      <AppFooter />
    </div>
  )
}
