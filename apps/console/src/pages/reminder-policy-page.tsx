import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { App, Button, Card, Form, Input, Select, Skeleton, Switch } from 'antd'
import { useEffect } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api, isApiError } from '../api/http'
import type { ReminderPolicy } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'

const path = '/api/v1/reminders/policy'

interface Fields {
  daysBefore: string[]
  inApp: boolean
  webhookOn: boolean
  webhookUrl?: string
  webhookSecret?: string
}

function fieldsOf(policy: ReminderPolicy): Fields {
  return {
    daysBefore: policy.daysBefore.map(String),
    inApp: policy.inApp,
    webhookOn: policy.webhook !== null,
    webhookUrl: policy.webhook?.url,
    webhookSecret: undefined,
  }
}

const validDays = (values: string[] | undefined) =>
  (values ?? []).every((v) => /^\d{1,3}$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 365)

export function ReminderPolicyPage() {
  const { t } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const [form] = Form.useForm<Fields>()
  const queryClient = useQueryClient()
  const writable = can('reminders.write')
  const webhookOn = Form.useWatch('webhookOn', form)
  const current = useQuery({ queryKey: [path], queryFn: () => api<ReminderPolicy>(path) })
  const save = useMutation({
    mutationFn: (values: Fields) =>
      api<ReminderPolicy>(path, {
        method: 'PUT',
        body: {
          daysBefore: [...new Set(values.daysBefore.map((v) => Number(v.trim())))].sort((a, b) => b - a),
          inApp: values.inApp,
          webhook: values.webhookOn
            ? {
                url: values.webhookUrl?.trim() ?? '',
                ...(values.webhookSecret?.trim() && { secret: values.webhookSecret.trim() }),
              }
            : null,
          version: current.data?.version ?? 0,
        },
      }),
    onSuccess: (saved) => {
      queryClient.setQueryData([path], saved)
      form.setFieldsValue(fieldsOf(saved))
      void message.success(t('common.saved'))
    },
    onError: (error) => {
      showFieldProblems(form, error)
      // The webhook's fields arrive as body.webhook.url / body.webhook.secret; the form keeps them flat.
      if (isApiError(error)) {
        form.setFields(
          error.errors
            .filter((e) => e.field === 'body.webhook.url' || e.field === 'body.webhook.secret')
            .map((e) => ({
              name: e.field.endsWith('url') ? 'webhookUrl' : 'webhookSecret',
              errors: [e.message],
            })),
        )
      }
    },
  })
  useEffect(() => {
    if (current.data) form.setFieldsValue(fieldsOf(current.data))
  }, [current.data, form])

  return (
    <>
      <PageHeader title={t('nav.reminders')}>{t('reminders.intro')}</PageHeader>
      {current.error ? (
        <ProblemAlert error={current.error} />
      ) : !current.data ? (
        <Skeleton active />
      ) : (
        <Card>
          <Form<Fields>
            form={form}
            layout="vertical"
            className="settings-form"
            disabled={!writable || save.isPending}
            onFinish={(values) => save.mutate(values)}
            data-testid="reminders-form"
          >
            <Form.Item
              name="daysBefore"
              label={t('reminders.daysBefore')}
              extra={t('reminders.daysBeforeHint')}
              rules={[
                {
                  validator: (_, value: string[] | undefined) =>
                    validDays(value) ? Promise.resolve() : Promise.reject(new Error(t('reminders.daysInvalid'))),
                },
              ]}
            >
              <Select mode="tags" tokenSeparators={[',', ' ', '，']} open={false} data-testid="reminders-days" />
            </Form.Item>
            <Form.Item name="inApp" label={t('reminders.inApp')} valuePropName="checked">
              <Switch />
            </Form.Item>
            <Form.Item name="webhookOn" label={t('reminders.webhook')} valuePropName="checked">
              <Switch data-testid="reminders-webhook" />
            </Form.Item>
            {webhookOn && (
              <>
                <Form.Item
                  name="webhookUrl"
                  label={t('reminders.webhookUrl')}
                  extra={t('reminders.webhookUrlHint')}
                  rules={[{ required: true, type: 'url', message: <Translated k="reminders.webhookUrlInvalid" /> }]}
                >
                  <Input maxLength={2048} placeholder="https://his.example/hooks/certificates" />
                </Form.Item>
                <Form.Item
                  name="webhookSecret"
                  label={t('reminders.webhookSecret')}
                  extra={current.data.webhook?.secretSet ? t('reminders.webhookSecretHint') : undefined}
                >
                  <Input.Password maxLength={256} autoComplete="new-password" />
                </Form.Item>
              </>
            )}
            <ProblemAlert error={save.error} />
            {writable && (
              <Form.Item>
                <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="reminders-submit">
                  {t('common.save')}
                </Button>
                <Button
                  className="button-gap"
                  htmlType="button"
                  onClick={() => form.setFieldsValue(fieldsOf(current.data))}
                >
                  {t('common.reset')}
                </Button>
              </Form.Item>
            )}
          </Form>
        </Card>
      )}
    </>
  )
}
