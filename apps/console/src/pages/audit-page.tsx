import { useInfiniteQuery, useMutation } from '@tanstack/react-query'
import {
  Alert,
  App,
  AutoComplete,
  Button,
  DatePicker,
  Descriptions,
  Drawer,
  Form,
  Input,
  Modal,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd'
import type { RangePickerProps } from 'antd/es/date-picker'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Query } from '../api/http'
import type { AuditRecord, AuditReport } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { RoleTags } from '../components/role-tags'
import { useSession } from '../session/session'

const pageSize = 50
const outcomes = ['success', 'denied', 'failure'] as const
/** Common type prefixes; the field also takes any other prefix. */
const typePrefixes = [
  'auth.',
  'account.',
  'policy.',
  'system.',
  'org.',
  'department.',
  'staff.',
  'client-system.',
  'audit.',
]

interface FilterFields {
  range?: RangePickerProps['value']
  actor?: string
  type?: string
  outcome?: (typeof outcomes)[number]
}

function queryOf(fields: FilterFields): Query {
  const [from, to] = fields.range ?? []
  return {
    from: from?.toISOString(),
    to: to?.toISOString(),
    actor: fields.actor?.trim(),
    type: fields.type?.trim(),
    outcome: fields.outcome,
  }
}

const outcomeColour = { success: 'green', denied: 'orange', failure: 'red' } as const

function OutcomeTag({ outcome }: { outcome: string | null }) {
  const { t } = useTranslation()
  if (!outcome) return <>—</>
  const known = (outcomes as readonly string[]).includes(outcome) ? (outcome as (typeof outcomes)[number]) : undefined
  return <Tag color={known ? outcomeColour[known] : undefined}>{known ? t(`audit.outcomes.${known}`) : outcome}</Tag>
}

function ReportView({ report }: { report: AuditReport }) {
  const { t, i18n } = useTranslation()
  const english = i18n.language.startsWith('en')
  return (
    <Space direction="vertical" className="full-width" data-testid="audit-report">
      {report.status === 'ok' ? (
        <Alert type="success" showIcon title={t('audit.chainOk')} data-testid="audit-report-status" />
      ) : (
        <Alert
          type="error"
          showIcon
          data-testid="audit-report-status"
          title={t('audit.chainBroken', { seq: report.broken?.seq ?? '?' })}
          description={report.broken ? (english ? report.broken.message.en : report.broken.message.zh) : undefined}
        />
      )}
      <Descriptions column={1} size="small" bordered>
        <Descriptions.Item label={t('audit.rowsChecked')}>{report.rowsChecked}</Descriptions.Item>
        <Descriptions.Item label={t('audit.checkpointsChecked')}>{report.checkpointsChecked}</Descriptions.Item>
        <Descriptions.Item label={t('audit.seqRange')}>
          {report.firstSeq ?? '—'} – {report.lastSeq ?? '—'}
        </Descriptions.Item>
        <Descriptions.Item label={t('audit.lastCheckpoint')}>{report.lastCheckpointSeq ?? '—'}</Descriptions.Item>
        <Descriptions.Item label={t('audit.notYetCheckpointed')}>
          {report.notYetCheckpointed
            ? t('audit.notYetCheckpointedRange', report.notYetCheckpointed)
            : t('audit.allCheckpointed')}
        </Descriptions.Item>
        <Descriptions.Item label={t('audit.duration')}>{report.durationMs} ms</Descriptions.Item>
        <Descriptions.Item label={t('audit.verifiedAt')}>
          {new Date(report.verifiedAt).toLocaleString(i18n.language)}
        </Descriptions.Item>
      </Descriptions>
    </Space>
  )
}

function RecordDrawer({ record, onClose }: { record: AuditRecord | null; onClose(): void }) {
  const { t, i18n } = useTranslation()
  return (
    <Drawer
      open={record !== null}
      onClose={onClose}
      size="large"
      title={record ? t('audit.recordTitle', { seq: record.seq }) : ''}
      data-testid="audit-drawer"
    >
      {record && (
        <Space direction="vertical" size="middle" className="full-width">
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t('audit.time')}>
              {new Date(record.at).toLocaleString(i18n.language)}
            </Descriptions.Item>
            <Descriptions.Item label={t('audit.action')}>{record.type}</Descriptions.Item>
            <Descriptions.Item label={t('audit.actor')}>{record.actor}</Descriptions.Item>
            <Descriptions.Item label={t('audit.role')}>{record.actorRole ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('audit.target')}>{record.subject ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('audit.outcome')}>
              <OutcomeTag outcome={record.outcome} />
            </Descriptions.Item>
            <Descriptions.Item label={t('audit.source')}>{record.source ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('audit.requestId')}>{record.requestId ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('audit.prevHash')}>
              <Typography.Text code copyable className="hash">
                {record.prevHash}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('audit.hash')}>
              <Typography.Text code copyable className="hash">
                {record.hash}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
          <Typography.Title level={5}>{t('audit.data')}</Typography.Title>
          <pre className="json-view" data-testid="audit-data">
            {JSON.stringify(record.data, null, 2)}
          </pre>
        </Space>
      )}
    </Drawer>
  )
}

export function AuditPage() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const [form] = Form.useForm<FilterFields>()
  const [filters, setFilters] = useState<Query>({})
  const [record, setRecord] = useState<AuditRecord | null>(null)
  const events = useInfiniteQuery({
    queryKey: ['audit', filters],
    queryFn: ({ pageParam }) =>
      api<{ items: AuditRecord[]; nextCursor: number | null }>('/api/v1/audit/events', {
        query: { ...filters, cursor: pageParam, limit: pageSize },
      }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const rows = events.data?.pages.flatMap((page) => page.items) ?? []

  const verify = useMutation({ mutationFn: () => api<AuditReport>('/api/v1/audit/verify') })
  const exportCsv = useMutation({
    mutationFn: () => api<Blob>('/api/v1/audit/export', { query: { ...filters, format: 'csv' }, as: 'blob' }),
    onSuccess: (blob) => {
      const url = URL.createObjectURL(blob)
      const link = document.createElement('a')
      link.href = url
      link.download = `yiqian-audit-${new Date().toISOString().replaceAll(/[-:]/g, '').slice(0, 15)}.csv`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    },
    onError: (error) => void message.error(error.message),
  })

  return (
    <>
      <PageHeader
        title={t('nav.audit')}
        extra={
          <Space>
            {can('audit.export') && (
              <Button onClick={() => exportCsv.mutate()} loading={exportCsv.isPending} data-testid="audit-export">
                {t('audit.export')}
              </Button>
            )}
            <Button
              type="primary"
              onClick={() => verify.mutate()}
              loading={verify.isPending}
              data-testid="audit-verify"
            >
              {t('audit.verify')}
            </Button>
          </Space>
        }
      >
        {t('audit.intro')}
      </PageHeader>
      <Form<FilterFields>
        form={form}
        layout="inline"
        className="block-gap"
        onFinish={(values) => setFilters(queryOf(values))}
        data-testid="audit-filters"
      >
        <Form.Item name="range">
          <DatePicker.RangePicker showTime allowEmpty={[true, true]} placeholder={[t('audit.from'), t('audit.to')]} />
        </Form.Item>
        <Form.Item name="actor">
          <Input placeholder={t('audit.actorPlaceholder')} maxLength={200} allowClear style={{ width: 220 }} />
        </Form.Item>
        <Form.Item name="type">
          <AutoComplete
            placeholder={t('audit.typePlaceholder')}
            options={typePrefixes.map((value) => ({ value }))}
            allowClear
            style={{ width: 220 }}
          />
        </Form.Item>
        <Form.Item name="outcome">
          <Select
            allowClear
            placeholder={t('audit.outcome')}
            style={{ width: 140 }}
            options={outcomes.map((value) => ({ value, label: t(`audit.outcomes.${value}`) }))}
          />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" data-testid="audit-search">
            {t('common.search')}
          </Button>
          <Button
            onClick={() => {
              form.resetFields()
              setFilters({})
            }}
          >
            {t('common.reset')}
          </Button>
        </Space>
      </Form>
      <ProblemAlert error={events.error} />
      <Table<AuditRecord>
        rowKey="seq"
        size="small"
        data-testid="audit-table"
        loading={events.isFetching}
        dataSource={rows}
        pagination={false}
        onRow={(r) => ({ onClick: () => setRecord(r), className: 'clickable' })}
        columns={[
          { title: t('audit.seq'), dataIndex: 'seq', width: 80 },
          {
            title: t('audit.time'),
            dataIndex: 'at',
            width: 180,
            render: (at: string) => new Date(at).toLocaleString(i18n.language),
          },
          { title: t('audit.actor'), dataIndex: 'actor', ellipsis: true },
          {
            title: t('audit.role'),
            dataIndex: 'actorRole',
            render: (v: string | null) => (v ? <RoleTags roles={v.split(',')} /> : '—'),
          },
          { title: t('audit.source'), dataIndex: 'source', render: (v: string | null) => v ?? '—' },
          { title: t('audit.action'), dataIndex: 'type' },
          { title: t('audit.target'), dataIndex: 'subject', ellipsis: true, render: (v: string | null) => v ?? '—' },
          {
            title: t('audit.outcome'),
            dataIndex: 'outcome',
            render: (outcome: string | null) => <OutcomeTag outcome={outcome} />,
          },
        ]}
        footer={() =>
          events.hasNextPage ? (
            <Button onClick={() => void events.fetchNextPage()} loading={events.isFetchingNextPage}>
              {t('audit.more')}
            </Button>
          ) : (
            t('audit.end', { count: rows.length })
          )
        }
      />
      <RecordDrawer record={record} onClose={() => setRecord(null)} />
      <Modal
        open={verify.data !== undefined || verify.error !== null}
        title={t('audit.verifyTitle')}
        onCancel={() => verify.reset()}
        footer={null}
        width={620}
      >
        {verify.data && <ReportView report={verify.data} />}
        <ProblemAlert error={verify.error} />
      </Modal>
    </>
  )
}
