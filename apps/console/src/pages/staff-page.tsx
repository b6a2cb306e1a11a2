import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { App, Button, Form, Input, Modal, Select, Space, Table, Tag, TreeSelect } from 'antd'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import { ID_TYPES, type Page, STAFF_STATUSES, type StaffMember } from '../api/types'
import {
  codePattern,
  departmentNames,
  InstitutionPicker,
  treeOptions,
  useChosenInstitution,
  useDepartmentTree,
} from '../components/organisation'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'

interface Filters {
  name?: string
  employeeNumber?: string
  status?: StaffMember['status']
  departmentId?: string
}

interface StaffFields {
  employeeNumber: string
  name: string
  title?: string
  departmentIds: string[]
  phone?: string
  idType?: StaffMember['idType']
  idNumber?: string
  status?: StaffMember['status']
}

type Editing = { mode: 'create' } | { mode: 'edit'; member: StaffMember }

function StaffDialog({
  editing,
  institutionId,
  onClose,
  onSaved,
}: {
  editing: Editing | null
  institutionId: string
  onClose(): void
  onSaved(): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<StaffFields>()
  const queryClient = useQueryClient()
  const tree = useDepartmentTree(institutionId)
  const member = editing?.mode === 'edit' ? editing.member : undefined
  const save = useMutation({
    mutationFn: (values: StaffFields) => {
      // Personal data is shown masked; a blank field on edit leaves the stored value as it is.
      const personal = {
        ...(values.phone?.trim() && { phone: values.phone.trim() }),
        ...(values.idNumber?.trim() && { idNumber: values.idNumber.trim(), idType: values.idType ?? 'resident' }),
      }
      if (member) {
        return api<StaffMember>(`/api/v1/org/staff/${encodeURIComponent(member.id)}`, {
          method: 'PATCH',
          body: {
            version: member.version,
            name: values.name,
            title: values.title ?? '',
            departmentIds: values.departmentIds,
            status: values.status,
            ...personal,
          },
        })
      }
      return api<StaffMember>('/api/v1/org/staff', {
        method: 'POST',
        body: {
          institutionId,
          employeeNumber: values.employeeNumber,
          name: values.name,
          ...(values.title?.trim() && { title: values.title.trim() }),
          departmentIds: values.departmentIds,
          ...personal,
        },
      })
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['staff'] })
      onSaved()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const initial: Partial<StaffFields> | undefined = member
    ? {
        employeeNumber: member.employeeNumber,
        name: member.name,
        title: member.title,
        departmentIds: member.departmentIds,
        idType: member.idType ?? 'resident',
        status: member.status,
      }
    : { idType: 'resident', departmentIds: [] }
  return (
    <Modal
      open={editing !== null}
      title={t(member ? 'staff.edit' : 'staff.create')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={save.isPending}
      okButtonProps={{ 'data-testid': 'staff-submit' }}
      destroyOnHidden
      width={600}
    >
      <Form<StaffFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={initial}
        onFinish={(values) => save.mutate(values)}
      >
        <Form.Item
          name="employeeNumber"
          label={t('staff.employeeNumber')}
          extra={member ? t('staff.employeeNumberFixed') : t('org.codeRule')}
          rules={[{ required: true, pattern: codePattern, message: <Translated k="org.codeRule" /> }]}
        >
          <Input maxLength={32} disabled={member !== undefined} data-testid="staff-employee-number" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t('staff.name')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={64} data-testid="staff-name" />
        </Form.Item>
        <Form.Item name="title" label={t('staff.title')}>
          <Input maxLength={64} />
        </Form.Item>
        <Form.Item
          name="departmentIds"
          label={t('staff.departments')}
          extra={t('staff.departmentsHint')}
          rules={[{ required: true, type: 'array', min: 1, message: <Translated k="staff.departmentsRequired" /> }]}
        >
          <TreeSelect
            multiple
            treeDefaultExpandAll
            treeData={treeOptions(tree.data ?? [])}
            loading={tree.isPending}
            data-testid="staff-departments"
          />
        </Form.Item>
        <Form.Item
          name="phone"
          label={t('staff.phone')}
          extra={member?.phone ? t('staff.keepMasked', { value: member.phone }) : undefined}
        >
          <Input maxLength={30} autoComplete="off" />
        </Form.Item>
        <Space.Compact className="full-width">
          <Form.Item name="idType" label={t('staff.idType')} className="id-type">
            <Select options={ID_TYPES.map((type) => ({ value: type, label: t(`staff.idTypes.${type}`) }))} />
          </Form.Item>
          <Form.Item
            name="idNumber"
            label={t('staff.idNumber')}
            className="grow"
            extra={member?.idNumber ? t('staff.keepMasked', { value: member.idNumber }) : undefined}
          >
            <Input maxLength={32} autoComplete="off" />
          </Form.Item>
        </Space.Compact>
        {member && (
          <Form.Item name="status" label={t('staff.status')}>
            <Select
              options={STAFF_STATUSES.map((status) => ({ value: status, label: t(`staff.statuses.${status}`) }))}
            />
          </Form.Item>
        )}
        <ProblemAlert error={save.error} />
      </Form>
    </Modal>
  )
}

const pageSize = 20

export function StaffPage() {
  const { t } = useTranslation()
  const { can } = useSession()
  const { message, modal } = App.useApp()
  const [institutionId, setInstitutionId] = useChosenInstitution()
  const tree = useDepartmentTree(institutionId)
  const names = useMemo(() => departmentNames(tree.data ?? []), [tree.data])
  const [filters, setFilters] = useState<Filters>({})
  const [page, setPage] = useState(1)
  const [editing, setEditing] = useState<Editing | null>(null)
  const staff = useQuery({
    queryKey: ['staff', institutionId, filters, page],
    queryFn: () =>
      api<Page<StaffMember>>('/api/v1/org/staff', {
        query: { institutionId, ...filters, offset: (page - 1) * pageSize, limit: pageSize },
      }),
    enabled: institutionId !== undefined,
    placeholderData: keepPreviousData,
  })
  const reveal = useMutation({
    mutationFn: (member: StaffMember) =>
      api<StaffMember>(`/api/v1/org/staff/${encodeURIComponent(member.id)}/reveal`, { method: 'POST' }),
    onSuccess: (member) =>
      modal.info({
        title: t('staff.revealed', { name: member.name }),
        content: (
          <div>
            <div>
              {t('staff.phone')}: {member.phone ?? '—'}
            </div>
            <div>
              {t('staff.idNumber')}: {member.idNumber ?? '—'}
            </div>
          </div>
        ),
      }),
    onError: (error) => void message.error(error.message),
  })
  const writable = can('org.write')

  return (
    <>
      <PageHeader
        title={t('nav.staff')}
        extra={
          writable &&
          institutionId && (
            <Space>
              <Link to="/org/import">{t('nav.import')}</Link>
              <Button type="primary" onClick={() => setEditing({ mode: 'create' })} data-testid="staff-create">
                {t('staff.create')}
              </Button>
            </Space>
          )
        }
      >
        {t('staff.intro')}
      </PageHeader>
      <Space direction="vertical" size="middle" className="full-width">
        <InstitutionPicker value={institutionId} onChange={setInstitutionId} />
        <Form<Filters>
          layout="inline"
          onFinish={(values) => {
            setPage(1)
            setFilters(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== '')))
          }}
          data-testid="staff-search"
        >
          <Form.Item name="name">
            <Input placeholder={t('staff.name')} maxLength={64} allowClear data-testid="staff-search-name" />
          </Form.Item>
          <Form.Item name="employeeNumber">
            <Input placeholder={t('staff.employeeNumber')} maxLength={32} allowClear />
          </Form.Item>
          <Form.Item name="departmentId">
            <TreeSelect
              allowClear
              placeholder={t('staff.department')}
              treeData={treeOptions(tree.data ?? [])}
              style={{ width: 220 }}
            />
          </Form.Item>
          <Form.Item name="status">
            <Select
              allowClear
              placeholder={t('staff.status')}
              style={{ width: 140 }}
              options={STAFF_STATUSES.map((status) => ({ value: status, label: t(`staff.statuses.${status}`) }))}
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="staff-search-submit">
            {t('common.search')}
          </Button>
        </Form>
        <ProblemAlert error={staff.error} />
        <Table<StaffMember>
          rowKey="id"
          data-testid="staff-table"
          loading={staff.isFetching}
          dataSource={staff.data?.items}
          pagination={{
            current: page,
            pageSize,
            total: staff.data?.total ?? 0,
            showSizeChanger: false,
            showTotal: (total) => t('common.total', { total }),
            onChange: setPage,
          }}
          columns={[
            { title: t('staff.employeeNumber'), dataIndex: 'employeeNumber' },
            { title: t('staff.name'), dataIndex: 'name' },
            { title: t('staff.title'), dataIndex: 'title' },
            {
              title: t('staff.departments'),
              dataIndex: 'departmentIds',
              render: (ids: string[]) => ids.map((id) => <Tag key={id}>{names.get(id) ?? id}</Tag>),
            },
            { title: t('staff.phone'), dataIndex: 'phone', render: (v: string | null) => v ?? '—' },
            { title: t('staff.idNumber'), dataIndex: 'idNumber', render: (v: string | null) => v ?? '—' },
            {
              title: t('staff.status'),
              dataIndex: 'status',
              render: (status: StaffMember['status']) => (
                <Tag color={status === 'active' ? 'green' : 'default'}>{t(`staff.statuses.${status}`)}</Tag>
              ),
            },
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_, member) => (
                <Space size={0}>
                  {writable && (
                    <Button type="link" size="small" onClick={() => setEditing({ mode: 'edit', member })}>
                      {t('common.edit')}
                    </Button>
                  )}
                  {can('staff.personal-data.read') && (member.phone || member.idNumber) && (
                    <Button type="link" size="small" onClick={() => reveal.mutate(member)}>
                      {t('staff.reveal')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Space>
      {institutionId && (
        <StaffDialog
          editing={editing}
          institutionId={institutionId}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            void message.success(t('common.saved'))
          }}
        />
      )}
    </>
  )
}
