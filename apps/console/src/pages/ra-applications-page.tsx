import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Alert, App, Button, Form, Input, Modal, Select, Space, Switch, Table, Tag, TreeSelect, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import {
  APPLICATION_KINDS,
  APPLICATION_PROFILES,
  APPLICATION_STATES,
  type ApplicationKind,
  type ApplicationState,
  type Approval,
  type BulkApplication,
  type CertificateApplication,
  type Issued,
  type Page,
  type StaffMember,
} from '../api/types'
import { InstitutionPicker, treeOptions, useChosenInstitution, useDepartmentTree } from '../components/organisation'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { SecretOnce } from '../components/secret-once'
import { useSession } from '../session/session'
import { profileName } from './certificates-page'

const applicationsKey = ['ra', 'applications'] as const
const pageSize = 20
/** RA_LIMITS.activationHours on the server. */
const activationHours = 72

const statusColour: Record<ApplicationState, string> = {
  pending: 'gold',
  approved: 'blue',
  rejected: 'red',
  issued: 'green',
  cancelled: 'default',
}

function useStaffMember(id: string | undefined) {
  return useQuery({
    queryKey: ['staff', 'one', id],
    queryFn: () => api<StaffMember>(`/api/v1/org/staff/${encodeURIComponent(id ?? '')}`),
    enabled: id !== undefined,
    staleTime: 60_000,
  })
}

/** The holder's name and employee number; the id while it loads (or when the caller may not read staff). */
function StaffName({ id }: { id: string }) {
  const member = useStaffMember(id)
  return member.data ? (
    <span>
      {member.data.name} <Typography.Text type="secondary">({member.data.employeeNumber})</Typography.Text>
    </span>
  ) : (
    <Typography.Text type="secondary">{id}</Typography.Text>
  )
}

interface ApplyFields {
  staffId: string
  profileId: string
  kind: ApplicationKind
  replaces?: string
  cn?: string
}

function ApplyDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<ApplyFields>()
  const queryClient = useQueryClient()
  const [search, setSearch] = useState('')
  const kind = Form.useWatch('kind', form)
  const candidates = useQuery({
    queryKey: ['staff', 'candidates', search],
    queryFn: () =>
      api<Page<StaffMember>>('/api/v1/org/staff', { query: { name: search.trim(), status: 'active', limit: 20 } }),
    enabled: open,
    placeholderData: keepPreviousData,
  })
  const apply = useMutation({
    mutationFn: (values: ApplyFields) =>
      api<CertificateApplication>('/api/v1/ra/applications', {
        method: 'POST',
        body: {
          staffId: values.staffId,
          profileId: values.profileId,
          kind: values.kind,
          ...(values.kind !== 'apply' && values.replaces?.trim() && { replaces: values.replaces.trim() }),
          ...(values.cn?.trim() && { subject: { CN: values.cn.trim() } }),
        },
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: applicationsKey })
      void message.success(t('common.saved'))
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Modal
      open={open}
      title={t('ra.apply')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={apply.isPending}
      okButtonProps={{ 'data-testid': 'ra-apply-submit' }}
      destroyOnHidden
      width={560}
    >
      <Form<ApplyFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={{ profileId: 'staff-sign', kind: 'apply' }}
        onFinish={(values) => apply.mutate(values)}
      >
        <Form.Item
          name="staffId"
          label={t('ra.staff')}
          extra={t('ra.staffHint')}
          rules={[{ required: true, message: <Translated k="common.required" /> }]}
        >
          <Select
            showSearch
            filterOption={false}
            onSearch={setSearch}
            placeholder={t('ra.staffPlaceholder')}
            loading={candidates.isFetching}
            options={(candidates.data?.items ?? []).map((m) => ({
              value: m.id,
              label: `${m.name} (${m.employeeNumber})`,
            }))}
            data-testid="ra-apply-staff"
          />
        </Form.Item>
        <Form.Item name="profileId" label={t('ra.profile')} rules={[{ required: true }]}>
          <Select
            options={APPLICATION_PROFILES.map((p) => ({ value: p, label: t(`ra.profiles.${p}`) }))}
            data-testid="ra-apply-profile"
          />
        </Form.Item>
        <Form.Item name="kind" label={t('ra.kind')}>
          <Select options={APPLICATION_KINDS.map((k) => ({ value: k, label: t(`ra.kinds.${k}`) }))} />
        </Form.Item>
        {kind !== undefined && kind !== 'apply' && (
          <Form.Item
            name="replaces"
            label={t('ra.replaces')}
            extra={t('ra.replacesHint')}
            rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
          >
            <Input maxLength={64} />
          </Form.Item>
        )}
        <Form.Item name="cn" label={t('ra.subjectCn')} extra={t('ra.subjectCnHint')}>
          <Input maxLength={128} />
        </Form.Item>
        <ProblemAlert error={apply.error} testId="ra-apply-problem" />
      </Form>
    </Modal>
  )
}

interface BulkFields {
  departmentId: string
  profileId: string
  includeSubDepartments: boolean
}

function BulkDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const { t } = useTranslation()
  const [form] = Form.useForm<BulkFields>()
  const queryClient = useQueryClient()
  const [institutionId, setInstitutionId] = useChosenInstitution()
  const tree = useDepartmentTree(institutionId)
  const bulk = useMutation({
    mutationFn: (values: BulkFields) =>
      api<BulkApplication>('/api/v1/ra/applications/bulk', { method: 'POST', body: values }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: applicationsKey }),
    onError: (error) => showFieldProblems(form, error),
  })
  const close = () => {
    bulk.reset()
    onClose()
  }
  const skipped = bulk.data?.results.filter((r) => r.outcome === 'skipped') ?? []
  return (
    <Modal
      open={open}
      title={t('ra.bulkApply')}
      onCancel={close}
      onOk={() => (bulk.data ? close() : form.submit())}
      confirmLoading={bulk.isPending}
      okButtonProps={{ 'data-testid': 'ra-bulk-submit' }}
      destroyOnHidden
      width={640}
    >
      <Typography.Paragraph type="secondary">{t('ra.bulkHint')}</Typography.Paragraph>
      <div className="block-gap">
        <InstitutionPicker value={institutionId} onChange={setInstitutionId} />
      </div>
      <Form<BulkFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={{ profileId: 'staff-sign', includeSubDepartments: true }}
        disabled={bulk.data !== undefined}
        onFinish={(values) => bulk.mutate(values)}
      >
        <Form.Item
          name="departmentId"
          label={t('ra.department')}
          rules={[{ required: true, message: <Translated k="common.required" /> }]}
        >
          <TreeSelect treeDefaultExpandAll treeData={treeOptions(tree.data ?? [])} loading={tree.isPending} />
        </Form.Item>
        <Form.Item name="includeSubDepartments" label={t('ra.includeSub')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name="profileId" label={t('ra.profile')}>
          <Select options={APPLICATION_PROFILES.map((p) => ({ value: p, label: t(`ra.profiles.${p}`) }))} />
        </Form.Item>
      </Form>
      <ProblemAlert error={bulk.error} />
      {bulk.data && (
        <Space direction="vertical" className="full-width" data-testid="ra-bulk-result">
          <Alert
            type={bulk.data.skipped > 0 ? 'warning' : 'success'}
            showIcon
            title={t('ra.bulkResult', { created: bulk.data.created, skipped: bulk.data.skipped })}
          />
          {skipped.length > 0 && (
            <Table
              size="small"
              rowKey="staffId"
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              dataSource={skipped}
              columns={[
                { title: t('ra.staff'), dataIndex: 'staffId', render: (id: string) => <StaffName id={id} /> },
                { title: t('ra.reason'), dataIndex: 'message' },
              ]}
            />
          )}
        </Space>
      )}
    </Modal>
  )
}

type Decision =
  | { action: 'approve'; application: CertificateApplication }
  | { action: 'reject'; application: CertificateApplication }
  | { action: 'cancel'; application: CertificateApplication }
  | { action: 'issue'; application: CertificateApplication }

/** One dialog for the four decisions: each shows what it does, asks for what it needs, and shows the refusal. */
function DecisionDialog({
  decision,
  onClose,
  onApproved,
  onIssued,
}: {
  decision: Decision | null
  onClose(): void
  onApproved(approval: Approval): void
  onIssued(issued: Issued): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<{ reason?: string; csr?: string }>()
  const queryClient = useQueryClient()
  const holder = useStaffMember(decision?.application.staffId)
  const act = useMutation({
    mutationFn: async ({ reason, csr }: { reason?: string; csr?: string }): Promise<unknown> => {
      if (!decision) return undefined
      const { action, application } = decision
      const path = `/api/v1/ra/applications/${encodeURIComponent(application.id)}`
      const version = application.version
      switch (action) {
        case 'approve':
          return api<Approval>(`${path}/approve`, { method: 'POST', body: { version } })
        case 'reject':
          return api<CertificateApplication>(`${path}/reject`, { method: 'POST', body: { reason, version } })
        case 'cancel':
          return api<CertificateApplication>(`${path}/cancel`, {
            method: 'POST',
            body: { ...(reason?.trim() && { reason: reason.trim() }), version },
          })
        case 'issue':
          return api<Issued>(`${path}/issue`, { method: 'POST', body: csr?.trim() ? { csr: csr.trim() } : {} })
      }
    },
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: applicationsKey })
      void queryClient.invalidateQueries({ queryKey: ['certificates'] })
      if (decision?.action === 'approve') onApproved(result as Approval)
      if (decision?.action === 'issue') onIssued(result as Issued)
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const close = () => {
    act.reset()
    onClose()
  }
  const action = decision?.action
  const name = holder.data?.name ?? decision?.application.staffId ?? ''
  const titles = {
    approve: t('ra.approveConfirm'),
    reject: t('ra.rejectTitle'),
    cancel: t('ra.cancelTitle'),
    issue: t('ra.issueTitle'),
  }
  const oks = { approve: t('ra.approve'), reject: t('ra.reject'), cancel: t('ra.cancel'), issue: t('ra.issue') }
  return (
    <Modal
      open={decision !== null}
      title={action ? titles[action] : ''}
      onCancel={close}
      onOk={() => form.submit()}
      okText={action ? oks[action] : undefined}
      okButtonProps={{ danger: action === 'reject' || action === 'cancel', 'data-testid': 'ra-decision-submit' }}
      confirmLoading={act.isPending}
      destroyOnHidden
      width={action === 'issue' ? 680 : 520}
    >
      <Form form={form} layout="vertical" requiredMark={false} preserve={false} onFinish={(v) => act.mutate(v)}>
        <Typography.Paragraph>
          {t('ra.staff')}: <strong>{name}</strong> · {profileName(t, decision?.application.profileId ?? '')}
        </Typography.Paragraph>
        {action === 'approve' && (
          <Typography.Paragraph>{t('ra.approveDetail', { hours: activationHours, name })}</Typography.Paragraph>
        )}
        {action === 'cancel' && <Typography.Paragraph>{t('ra.cancelDetail')}</Typography.Paragraph>}
        {(action === 'reject' || action === 'cancel') && (
          <Form.Item
            name="reason"
            label={t('ra.reason')}
            rules={
              action === 'reject'
                ? [{ required: true, whitespace: true, message: <Translated k="ra.reasonRequired" /> }]
                : []
            }
          >
            <Input.TextArea rows={3} maxLength={500} showCount data-testid="ra-decision-reason" />
          </Form.Item>
        )}
        {action === 'issue' && (
          <>
            <Alert type="info" showIcon className="block-gap" title={t('ra.issueUsual')} />
            <Typography.Paragraph>{t('ra.issueCsr')}</Typography.Paragraph>
            <Form.Item
              name="csr"
              label={t('ra.csr')}
              rules={[
                {
                  pattern: /^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----/,
                  message: <Translated k="ra.csrInvalid" />,
                },
              ]}
            >
              <Input.TextArea
                rows={10}
                spellCheck={false}
                style={{ fontFamily: 'monospace' }}
                placeholder="-----BEGIN CERTIFICATE REQUEST-----"
                data-testid="ra-issue-csr"
              />
            </Form.Item>
          </>
        )}
        <ProblemAlert error={act.error} testId="ra-decision-problem" />
      </Form>
    </Modal>
  )
}

interface Filters {
  status?: ApplicationState
  kind?: ApplicationKind
}

export function RaApplicationsPage() {
  const { t, i18n } = useTranslation()
  const { can, session } = useSession()
  const [filters, setFilters] = useState<Filters>({})
  const [page, setPage] = useState(1)
  const [applying, setApplying] = useState(false)
  const [bulkOpen, setBulkOpen] = useState(false)
  const [decision, setDecision] = useState<Decision | null>(null)
  const [approval, setApproval] = useState<Approval | null>(null)
  const [issued, setIssued] = useState<Issued | null>(null)
  const applications = useQuery({
    queryKey: [...applicationsKey, filters, page],
    queryFn: () =>
      api<{ items: CertificateApplication[]; total: number }>('/api/v1/ra/applications', {
        query: { ...filters, offset: (page - 1) * pageSize, limit: pageSize },
      }),
    placeholderData: keepPreviousData,
  })
  const approvedHolder = useStaffMember(approval?.application.staffId)
  const canApply = can('ra.apply')
  const canApprove = can('ra.approve')
  const when = (at: string | null) => (at ? new Date(at).toLocaleString(i18n.language) : '—')

  return (
    <>
      <PageHeader
        title={t('nav.raApplications')}
        extra={
          canApply && (
            <Space>
              <Button onClick={() => setBulkOpen(true)} data-testid="ra-bulk">
                {t('ra.bulkApply')}
              </Button>
              <Button type="primary" onClick={() => setApplying(true)} data-testid="ra-apply">
                {t('ra.apply')}
              </Button>
            </Space>
          )
        }
      >
        {t('ra.intro')}
      </PageHeader>
      <Space direction="vertical" size="middle" className="full-width">
        <Form<Filters>
          layout="inline"
          onFinish={(values) => {
            setPage(1)
            setFilters(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)))
          }}
          data-testid="ra-filters"
        >
          <Form.Item name="status">
            <Select
              allowClear
              placeholder={t('ra.status')}
              style={{ width: 160 }}
              options={APPLICATION_STATES.map((s) => ({ value: s, label: t(`ra.statuses.${s}`) }))}
              data-testid="ra-filter-status"
            />
          </Form.Item>
          <Form.Item name="kind">
            <Select
              allowClear
              placeholder={t('ra.kind')}
              style={{ width: 140 }}
              options={APPLICATION_KINDS.map((k) => ({ value: k, label: t(`ra.kinds.${k}`) }))}
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="ra-search">
            {t('common.search')}
          </Button>
        </Form>
        {issued && (
          <Alert
            type="success"
            showIcon
            closable
            onClose={() => setIssued(null)}
            data-testid="ra-issued"
            title={t('ra.issued', { serial: issued.certificate?.serial ?? issued.certificateSerial ?? '' })}
            action={
              issued.certificate &&
              can('certificates.read') && (
                <Link to={`/certificates/${encodeURIComponent(issued.certificate.id)}`} data-testid="ra-issued-link">
                  {t('ra.viewCertificate')}
                </Link>
              )
            }
          />
        )}
        <ProblemAlert error={applications.error} />
        <Table<CertificateApplication>
          rowKey="id"
          data-testid="ra-table"
          loading={applications.isFetching}
          dataSource={applications.data?.items}
          pagination={{
            current: page,
            pageSize,
            total: applications.data?.total ?? 0,
            showSizeChanger: false,
            showTotal: (total) => t('common.total', { total }),
            onChange: setPage,
          }}
          columns={[
            { title: t('ra.staff'), dataIndex: 'staffId', render: (id: string) => <StaffName id={id} /> },
            { title: t('ra.profile'), dataIndex: 'profileId', render: (p: string) => profileName(t, p) },
            { title: t('ra.kind'), dataIndex: 'kind', render: (k: ApplicationKind) => t(`ra.kinds.${k}`) },
            {
              title: t('ra.status'),
              dataIndex: 'status',
              render: (s: ApplicationState, a) => (
                <Space direction="vertical" size={0}>
                  <Tag color={statusColour[s]} data-testid="ra-status">
                    {t(`ra.statuses.${s}`)}
                  </Tag>
                  {a.reason && <Typography.Text type="secondary">{a.reason}</Typography.Text>}
                </Space>
              ),
            },
            {
              title: t('ra.requestedBy'),
              dataIndex: 'requestedBy',
              ellipsis: true,
              // Actors are recorded as user:<account id>; an officer mostly needs to know "was it me" (four-eyes).
              render: (by: string) => (session && by === `user:${session.account.id}` ? t('ra.me') : by),
            },
            { title: t('ra.requestedAt'), dataIndex: 'requestedAt', render: when },
            {
              title: t('ra.activation'),
              dataIndex: 'activation',
              render: (v: CertificateApplication['activation']) =>
                !v ? '—' : v.redeemed ? t('ra.activationRedeemed') : t('ra.activationUntil', { at: when(v.expiresAt) }),
            },
            {
              title: t('ra.serial'),
              dataIndex: 'certificateSerial',
              render: (serial: string | null) =>
                serial ? (
                  can('certificates.read') ? (
                    <Link to={`/certificates?serial=${encodeURIComponent(serial)}`}>
                      <Typography.Text code>{serial}</Typography.Text>
                    </Link>
                  ) : (
                    <Typography.Text code>{serial}</Typography.Text>
                  )
                ) : (
                  '—'
                ),
            },
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_, application) => (
                <Space size={0} wrap>
                  {canApprove && application.status === 'pending' && (
                    <>
                      <Button
                        type="link"
                        size="small"
                        onClick={() => setDecision({ action: 'approve', application })}
                        data-testid="ra-approve"
                      >
                        {t('ra.approve')}
                      </Button>
                      <Button
                        type="link"
                        size="small"
                        danger
                        onClick={() => setDecision({ action: 'reject', application })}
                        data-testid="ra-reject"
                      >
                        {t('ra.reject')}
                      </Button>
                    </>
                  )}
                  {canApprove && application.status === 'approved' && (
                    <Button
                      type="link"
                      size="small"
                      onClick={() => setDecision({ action: 'issue', application })}
                      data-testid="ra-issue"
                    >
                      {t('ra.issue')}
                    </Button>
                  )}
                  {canApply && (application.status === 'pending' || application.status === 'approved') && (
                    <Button
                      type="link"
                      size="small"
                      danger
                      onClick={() => setDecision({ action: 'cancel', application })}
                      data-testid="ra-cancel"
                    >
                      {t('ra.cancel')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Space>
      <ApplyDialog open={applying} onClose={() => setApplying(false)} />
      <BulkDialog open={bulkOpen} onClose={() => setBulkOpen(false)} />
      <DecisionDialog
        decision={decision}
        onClose={() => setDecision(null)}
        onApproved={setApproval}
        onIssued={setIssued}
      />
      <SecretOnce
        open={approval !== null}
        title={t('ra.activationTitle')}
        items={[
          { label: t('ra.staff'), value: approvedHolder.data?.name ?? approval?.application.staffId },
          { label: t('ra.profile'), value: profileName(t, approval?.application.profileId ?? '') },
        ]}
        secretLabel={t('ra.activationCode')}
        secret={approval?.activationCode ?? ''}
        onClose={() => setApproval(null)}
      />
    </>
  )
}
