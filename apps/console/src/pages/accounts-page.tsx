import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Alert, App, Button, Checkbox, Form, Input, Modal, Select, Space, Table, Tag } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import { type Account, ADMINISTRATOR_ROLES, type CreatedAccount, type Department, ROLES } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { RoleTags } from '../components/role-tags'
import { SecretOnce } from '../components/secret-once'
import { useSession } from '../session/session'

const accountsKey = ['accounts'] as const

function CreateAccountDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean
  onClose(): void
  onCreated(created: CreatedAccount): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<{ username: string; displayName: string }>()
  const queryClient = useQueryClient()
  const create = useMutation({
    mutationFn: (body: { username: string; displayName: string }) =>
      api<CreatedAccount>('/api/v1/accounts', { method: 'POST', body }),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: accountsKey })
      form.resetFields()
      onCreated(created)
    },
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Modal
      open={open}
      title={t('accounts.create')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={create.isPending}
      okButtonProps={{ 'data-testid': 'account-create-submit' }}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" onFinish={(values) => create.mutate(values)} requiredMark={false}>
        <Form.Item
          name="username"
          label={t('accounts.username')}
          extra={t('accounts.usernameRule')}
          rules={[
            { required: true, pattern: /^[A-Za-z0-9._-]{3,64}$/, message: <Translated k="accounts.usernameRule" /> },
          ]}
        >
          <Input data-testid="account-username" maxLength={64} autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="displayName"
          label={t('accounts.displayName')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input data-testid="account-display-name" maxLength={64} />
        </Form.Item>
        <Alert type="info" showIcon title={t('accounts.createNote')} />
        <ProblemAlert error={create.error} />
      </Form>
    </Modal>
  )
}

interface RoleAssignment {
  roles: string[]
  departmentIds: string[]
}

function RolesDialog({ account, onClose }: { account: Account | null; onClose(): void }) {
  const { t } = useTranslation()
  const [form] = Form.useForm<RoleAssignment>()
  const queryClient = useQueryClient()
  const { can } = useSession()
  const departments = useQuery({
    queryKey: ['departments', 'all'],
    queryFn: () => api<Department[]>('/api/v1/org/departments'),
    enabled: account !== null && can('org.read'),
  })
  const assign = useMutation({
    mutationFn: (body: RoleAssignment) =>
      api<Account>(`/api/v1/accounts/${encodeURIComponent(account?.id ?? '')}/roles`, {
        method: 'PUT',
        body: { ...body, version: account?.version },
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: accountsKey })
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const roles = Form.useWatch('roles', form) ?? []
  return (
    <Modal
      open={account !== null}
      title={t('accounts.rolesTitle', { name: account?.displayName ?? '' })}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={assign.isPending}
      destroyOnHidden
      width={560}
    >
      <Alert
        type="info"
        showIcon
        title={t('accounts.threeAdmins')}
        description={t('accounts.threeAdminsDetail')}
        className="block-gap"
      />
      <Form<RoleAssignment>
        form={form}
        layout="vertical"
        preserve={false}
        initialValues={{ roles: account?.roles ?? [], departmentIds: account?.departmentIds ?? [] }}
        onFinish={(values) => assign.mutate({ roles: values.roles, departmentIds: values.departmentIds ?? [] })}
      >
        <Form.Item
          name="roles"
          label={t('accounts.roles')}
          rules={[
            {
              validator: (_, value: string[] = []) =>
                value.filter((role) => ADMINISTRATOR_ROLES.includes(role)).length > 1
                  ? Promise.reject(new Error(t('accounts.oneAdminRole')))
                  : Promise.resolve(),
            },
          ]}
        >
          <Checkbox.Group
            className="role-choices"
            options={ROLES.map((role) => ({ value: role, label: t(`roles.${role}`) }))}
          />
        </Form.Item>
        {roles.includes('dept-manager') && (
          <Form.Item name="departmentIds" label={t('accounts.departments')} extra={t('accounts.departmentsHint')}>
            <Select
              mode="multiple"
              loading={departments.isPending}
              optionFilterProp="label"
              options={(departments.data ?? []).map((d) => ({ value: d.id, label: `${d.name} (${d.code})` }))}
            />
          </Form.Item>
        )}
        <ProblemAlert error={assign.error} />
      </Form>
    </Modal>
  )
}

export function AccountsPage() {
  const { t, i18n } = useTranslation()
  const { can, session } = useSession()
  const { modal, message } = App.useApp()
  const queryClient = useQueryClient()
  const [creating, setCreating] = useState(false)
  const [assigning, setAssigning] = useState<Account | null>(null)
  const [issued, setIssued] = useState<CreatedAccount | null>(null)
  const accounts = useQuery({ queryKey: accountsKey, queryFn: () => api<Account[]>('/api/v1/accounts') })

  const update = useMutation({
    mutationFn: ({ account, change }: { account: Account; change: { status?: Account['status']; unlock?: true } }) =>
      api<Account>(`/api/v1/accounts/${encodeURIComponent(account.id)}`, {
        method: 'PATCH',
        body: { version: account.version, ...change },
      }),
    onSuccess: () => {
      void message.success(t('common.saved'))
      void queryClient.invalidateQueries({ queryKey: accountsKey })
    },
    onError: (error) => void message.error(error.message),
  })
  const reset = useMutation({
    mutationFn: (account: Account) =>
      api<CreatedAccount>(`/api/v1/accounts/${encodeURIComponent(account.id)}/credential-reset`, { method: 'POST' }),
    onSuccess: (created) => {
      setIssued(created)
      void queryClient.invalidateQueries({ queryKey: accountsKey })
    },
    onError: (error) => void message.error(error.message),
  })

  const writable = can('accounts.write')
  const now = Date.now()
  return (
    <>
      <PageHeader
        title={t('nav.accounts')}
        extra={
          writable && (
            <Button type="primary" onClick={() => setCreating(true)} data-testid="account-create">
              {t('accounts.create')}
            </Button>
          )
        }
      >
        {t('accounts.intro')}
      </PageHeader>
      <ProblemAlert error={accounts.error} />
      <Table<Account>
        rowKey="id"
        loading={accounts.isPending}
        dataSource={accounts.data}
        data-testid="accounts-table"
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('accounts.username'), dataIndex: 'username' },
          { title: t('accounts.displayName'), dataIndex: 'displayName' },
          { title: t('accounts.roles'), dataIndex: 'roles', render: (roles: string[]) => <RoleTags roles={roles} /> },
          {
            title: t('accounts.status'),
            key: 'status',
            render: (_, a) => (
              <Space size={4} wrap>
                <Tag color={a.status === 'active' ? 'green' : 'default'}>{t(`accounts.statuses.${a.status}`)}</Tag>
                {a.lockedUntil && Date.parse(a.lockedUntil) > now && <Tag color="red">{t('accounts.locked')}</Tag>}
                {a.mustChangePassword && <Tag color="orange">{t('accounts.mustChangePassword')}</Tag>}
                {!a.totpEnrolled && <Tag>{t('accounts.noTotp')}</Tag>}
              </Space>
            ),
          },
          {
            title: t('accounts.lastLogin'),
            dataIndex: 'lastLoginAt',
            render: (at?: string) => (at ? new Date(at).toLocaleString(i18n.language) : '—'),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, a) => {
              const self = a.id === session?.account.id
              return (
                <Space size={0} wrap>
                  {can('roles.assign') && !self && (
                    <Button type="link" size="small" onClick={() => setAssigning(a)}>
                      {t('accounts.assignRoles')}
                    </Button>
                  )}
                  {writable && !self && (
                    <Button
                      type="link"
                      size="small"
                      danger={a.status === 'active'}
                      onClick={() =>
                        modal.confirm({
                          title: t(a.status === 'active' ? 'accounts.disableConfirm' : 'accounts.enableConfirm', {
                            name: a.displayName,
                          }),
                          onOk: () =>
                            update.mutateAsync({
                              account: a,
                              change: { status: a.status === 'active' ? 'disabled' : 'active' },
                            }),
                        })
                      }
                    >
                      {t(a.status === 'active' ? 'accounts.disable' : 'accounts.enable')}
                    </Button>
                  )}
                  {writable && a.lockedUntil && Date.parse(a.lockedUntil) > now && (
                    <Button
                      type="link"
                      size="small"
                      onClick={() => update.mutate({ account: a, change: { unlock: true } })}
                    >
                      {t('accounts.unlock')}
                    </Button>
                  )}
                  {writable && !self && (
                    <Button
                      type="link"
                      size="small"
                      onClick={() =>
                        modal.confirm({
                          title: t('accounts.resetConfirm', { name: a.displayName }),
                          content: t('accounts.resetDetail'),
                          onOk: () => reset.mutateAsync(a),
                        })
                      }
                    >
                      {t('accounts.reset')}
                    </Button>
                  )}
                </Space>
              )
            },
          },
        ]}
      />
      <CreateAccountDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(created) => {
          setCreating(false)
          setIssued(created)
        }}
      />
      <RolesDialog account={assigning} onClose={() => setAssigning(null)} />
      <SecretOnce
        open={issued !== null}
        title={t('accounts.initialPasswordTitle')}
        items={[
          { label: t('accounts.username'), value: issued?.account.username },
          { label: t('accounts.displayName'), value: issued?.account.displayName },
        ]}
        secretLabel={t('accounts.initialPassword')}
        secret={issued?.initialPassword ?? ''}
        onClose={() => setIssued(null)}
      />
    </>
  )
}
