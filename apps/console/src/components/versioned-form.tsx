import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { App, Button, Card, Form, Skeleton } from 'antd'
import { type ReactNode, useEffect } from 'react'
import { useTranslation } from 'react-i18next'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { Versioned } from '../api/types'
import { ProblemAlert } from './problem-alert'

/**
 * A settings document the server keeps with a version (security policy, system settings): read, edit, save with
 * the version last read, so a concurrent change is refused (409) instead of silently overwritten.
 */
export function VersionedForm<T extends object>({
  path,
  writable,
  testId,
  children,
}: {
  path: string
  writable: boolean
  testId: string
  children: ReactNode
}) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<T>()
  const queryClient = useQueryClient()
  const current = useQuery({ queryKey: [path], queryFn: () => api<Versioned<T>>(path) })
  const save = useMutation({
    mutationFn: (value: T) =>
      api<Versioned<T>>(path, { method: 'PUT', body: { value, version: current.data?.version ?? 0 } }),
    onSuccess: (saved) => {
      queryClient.setQueryData([path], saved)
      void message.success(t('common.saved'))
    },
    onError: (error) => showFieldProblems(form, error, 'body.value.'),
  })
  useEffect(() => {
    if (current.data) form.setFieldsValue(current.data.value as Parameters<typeof form.setFieldsValue>[0])
  }, [current.data, form])

  if (current.error) return <ProblemAlert error={current.error} />
  if (!current.data) return <Skeleton active />
  return (
    <Card>
      <Form<T>
        form={form}
        layout="vertical"
        disabled={!writable || save.isPending}
        onFinish={(values) => save.mutate({ ...current.data.value, ...values })}
        data-testid={testId}
        className="settings-form"
      >
        {children}
        <ProblemAlert error={save.error} />
        {writable && (
          <Form.Item>
            <Button type="primary" htmlType="submit" loading={save.isPending} data-testid={`${testId}-submit`}>
              {t('common.save')}
            </Button>
            <Button className="button-gap" onClick={() => form.resetFields()} htmlType="button">
              {t('common.reset')}
            </Button>
          </Form.Item>
        )}
      </Form>
    </Card>
  )
}
