import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { App, Button, Form, Input, InputNumber, Modal, Select, Space, Table, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { ClientSystem, IssuedSecret } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { SecretOnce } from '../components/secret-once'
import { useSession } from '../session/session'

const systemsKey = ['client-systems'] as const
const maxGraceSeconds = 7 * 24 * 3600

interface SystemFields {
  code: string
  name: string
  ipAllowList: string[]
  rateLimitPerMinute?: number
  departmentIds: string[]
  documentTypes: string[]
}

type Editing = { mode: 'create' } | { mode: 'edit'; system: ClientSystem }

function SystemDialog({
  editing,
  onClose,
  onIssued,
}: {
  editing: Editing | null
  onClose(): void
  onIssued(issued: IssuedSecret): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<SystemFields>()
  const queryClient = useQueryClient()
  const system = editing?.mode === 'edit' ? editing.system : undefined
  const save = useMutation({
    mutationFn: async (values: SystemFields) => {
      const common = {
        name: values.name,
        ipAllowList: values.ipAllowList ?? [],
        ...(values.rateLimitPerMinute && { rateLimitPerMinute: values.rateLimitPerMinute }),
        scope: { departmentIds: values.departmentIds ?? [], documentTypes: values.documentTypes ?? [] },
      }
      if (system) {
        await api<ClientSystem>(`/api/v1/client-systems/${encodeURIComponent(system.id)}`, {
          method: 'PATCH',
          body: { version: system.version, ...common },
        })
        return undefined
      }
      return api<IssuedSecret>('/api/v1/client-systems', { method: 'POST', body: { code: values.code, ...common } })
    },
    onSuccess: (issued) => {
      void queryClient.invalidateQueries({ queryKey: systemsKey })
      onClose()
      if (issued) onIssued(issued)
    },
    onError: (error) => {
      // Scope fields arrive as body.scope.departmentIds; the form keeps them at the top level.
      if (!showFieldProblems(form, error)) showFieldProblems(form, error, 'body.scope.')
    },
  })
  const initial: Partial<SystemFields> = system
    ? {
        code: system.code,
        name: system.name,
        ipAllowList: system.ipAllowList,
        rateLimitPerMinute: system.rateLimitPerMinute,
        departmentIds: system.scope.departmentIds,
        documentTypes: system.scope.documentTypes,
      }
    : { ipAllowList: [], departmentIds: [], documentTypes: [] }
  return (
    <Modal
      open={editing !== null}
      title={t(system ? 'clients.edit' : 'clients.register')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={save.isPending}
      destroyOnHidden
      width={620}
      okButtonProps={{ 'data-testid': 'client-submit' }}
    >
      <Form<SystemFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={initial}
        onFinish={(values) => save.mutate(values)}
      >
        <Form.Item
          name="code"
          label={t('clients.code')}
          extra={t('clients.codeRule')}
          rules={[
            { required: true, pattern: /^[A-Za-z0-9][A-Za-z0-9_-]*$/, message: <Translated k="clients.codeRule" /> },
          ]}
        >
          <Input maxLength={32} disabled={system !== undefined} data-testid="client-code" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t('clients.name')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={64} data-testid="client-name" />
        </Form.Item>
        <Form.Item name="ipAllowList" label={t('clients.ipAllowList')} extra={t('clients.ipAllowListHint')}>
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} placeholder="10.0.0.0/8, 192.168.1.20" />
        </Form.Item>
        <Form.Item name="rateLimitPerMinute" label={t('clients.rateLimit')} extra={t('clients.rateLimitHint')}>
          <InputNumber min={1} max={100_000} precision={0} />
        </Form.Item>
        <Form.Item name="departmentIds" label={t('clients.scopeDepartments')} extra={t('clients.scopeHint')}>
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} />
        </Form.Item>
        <Form.Item name="documentTypes" label={t('clients.scopeDocumentTypes')} extra={t('clients.scopeHint')}>
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} />
        </Form.Item>
        <ProblemAlert error={save.error} />
      </Form>
    </Modal>
  )
}

function RotateDialog({
  system,
  onClose,
  onIssued,
}: {
  system: ClientSystem | null
  onClose(): void
  onIssued(issued: IssuedSecret): void
}) {
  const { t } = useTranslation()
  const [graceSeconds, setGraceSeconds] = useState(0)
  const queryClient = useQueryClient()
  const rotate = useMutation({
    mutationFn: () =>
      api<IssuedSecret>(`/api/v1/client-systems/${encodeURIComponent(system?.id ?? '')}/secret-rotation`, {
        method: 'POST',
        body: { graceSeconds },
      }),
    onSuccess: (issued) => {
      void queryClient.invalidateQueries({ queryKey: systemsKey })
      onClose()
      onIssued(issued)
    },
  })
  return (
    <Modal
      open={system !== null}
      title={t('clients.rotateTitle', { name: system?.name ?? '' })}
      onCancel={onClose}
      onOk={() => rotate.mutate()}
      confirmLoading={rotate.isPending}
      okText={t('clients.rotate')}
      okButtonProps={{ danger: true }}
      destroyOnHidden
    >
      <Typography.Paragraph>{t('clients.rotateDetail')}</Typography.Paragraph>
      <Space>
        {t('clients.grace')}
        <InputNumber
          min={0}
          max={maxGraceSeconds}
          precision={0}
          value={graceSeconds}
          onChange={(value) => setGraceSeconds(value ?? 0)}
          addonAfter={t('clients.seconds')}
        />
      </Space>
      <ProblemAlert error={rotate.error} />
    </Modal>
  )
}

export function ClientSystemsPage() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const queryClient = useQueryClient()
  const [editing, setEditing] = useState<Editing | null>(null)
  const [rotating, setRotating] = useState<ClientSystem | null>(null)
  const [issued, setIssued] = useState<IssuedSecret | null>(null)
  const systems = useQuery({
    queryKey: systemsKey,
    queryFn: async () => (await api<{ items: ClientSystem[] }>('/api/v1/client-systems')).items,
  })
  const toggle = useMutation({
    mutationFn: (system: ClientSystem) =>
      api<ClientSystem>(`/api/v1/client-systems/${encodeURIComponent(system.id)}`, {
        method: 'PATCH',
        body: { version: system.version, enabled: !system.enabled },
      }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: systemsKey }),
    onError: (error) => void message.error(error.message),
  })
  const writable = can('client-systems.write')
  const list = (values: string[], any: string) =>
    values.length === 0 ? <Tag>{t('clients.none')}</Tag> : values.map((v) => <Tag key={v}>{v === '*' ? any : v}</Tag>)

  return (
    <>
      <PageHeader
        title={t('nav.clientSystems')}
        extra={
          writable && (
            <Button type="primary" onClick={() => setEditing({ mode: 'create' })} data-testid="client-register">
              {t('clients.register')}
            </Button>
          )
        }
      >
        {t('clients.intro')}
      </PageHeader>
      <ProblemAlert error={systems.error} />
      <Table<ClientSystem>
        rowKey="id"
        data-testid="clients-table"
        loading={systems.isPending}
        dataSource={systems.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('clients.code'), dataIndex: 'code' },
          { title: t('clients.name'), dataIndex: 'name' },
          {
            title: t('clients.appId'),
            dataIndex: 'appId',
            render: (v: string) => (
              <Typography.Text code copyable>
                {v}
              </Typography.Text>
            ),
          },
          {
            title: t('clients.status'),
            dataIndex: 'enabled',
            render: (enabled: boolean) => (
              <Tag color={enabled ? 'green' : 'default'}>{t(enabled ? 'clients.enabled' : 'clients.disabled')}</Tag>
            ),
          },
          {
            title: t('clients.ipAllowList'),
            dataIndex: 'ipAllowList',
            render: (ips: string[]) =>
              ips.length === 0 ? (
                <Tag color="orange">{t('clients.anyAddress')}</Tag>
              ) : (
                ips.map((ip) => <Tag key={ip}>{ip}</Tag>)
              ),
          },
          {
            title: t('clients.scope'),
            key: 'scope',
            render: (_, s) => (
              <Space direction="vertical" size={2}>
                <span>
                  {t('clients.scopeDepartments')}: {list(s.scope.departmentIds, t('clients.any'))}
                </span>
                <span>
                  {t('clients.scopeDocumentTypes')}: {list(s.scope.documentTypes, t('clients.any'))}
                </span>
              </Space>
            ),
          },
          {
            title: t('clients.secretRotatedAt'),
            dataIndex: 'secretRotatedAt',
            render: (at: string) => new Date(at).toLocaleString(i18n.language),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, s) =>
              writable && (
                <Space size={0} wrap>
                  <Button type="link" size="small" onClick={() => setEditing({ mode: 'edit', system: s })}>
                    {t('common.edit')}
                  </Button>
                  <Button type="link" size="small" onClick={() => setRotating(s)}>
                    {t('clients.rotate')}
                  </Button>
                  <Button type="link" size="small" danger={s.enabled} onClick={() => toggle.mutate(s)}>
                    {t(s.enabled ? 'clients.disable' : 'clients.enable')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      <SystemDialog editing={editing} onClose={() => setEditing(null)} onIssued={setIssued} />
      <RotateDialog system={rotating} onClose={() => setRotating(null)} onIssued={setIssued} />
      <SecretOnce
        open={issued !== null}
        title={t('clients.secretTitle')}
        items={[
          { label: t('clients.name'), value: issued?.system.name },
          {
            label: t('clients.appId'),
            value: (
              <Typography.Text code copyable>
                {issued?.system.appId}
              </Typography.Text>
            ),
          },
        ]}
        secretLabel={t('clients.secret')}
        secret={issued?.secret ?? ''}
        onClose={() => setIssued(null)}
      />
    </>
  )
}
