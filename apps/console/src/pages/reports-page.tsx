import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query'
import { App, Button, DatePicker, Form, Select, Space, Table, Typography } from 'antd'
import type { RangePickerProps } from 'antd/es/date-picker'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, type Query } from '../api/http'
import { type CertificateReport, REPORT_GROUPS, type ReportGroup, type ReportRow } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'

interface Fields {
  groupBy: ReportGroup
  range?: RangePickerProps['value']
}

function queryOf({ groupBy, range }: Fields): Query {
  const [from, to] = range ?? []
  return { groupBy, from: from?.startOf('day').toISOString(), to: to?.endOf('day').toISOString() }
}

const counts = ['issued', 'active', 'suspended', 'revoked', 'expired', 'expiringIn30Days'] as const

export function ReportsPage() {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [query, setQuery] = useState<Query>({ groupBy: 'department' })
  const report = useQuery({
    queryKey: ['reports', 'certificates', query],
    queryFn: () => api<CertificateReport>('/api/v1/reports/certificates', { query: { ...query, format: 'json' } }),
    placeholderData: keepPreviousData,
  })
  const exportFile = useMutation({
    mutationFn: (format: 'csv' | 'xlsx') =>
      api<Blob>('/api/v1/reports/certificates', { query: { ...query, format }, as: 'blob' }),
    onSuccess: (blob, format) => {
      const url = URL.createObjectURL(blob)
      const link = document.createElement('a')
      link.href = url
      link.download = `yiqian-certificates-${String(query.groupBy)}-${new Date().toISOString().slice(0, 10)}.${format}`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    },
    onError: (error) => void message.error(error.message),
  })
  const totals = report.data?.totals

  return (
    <>
      <PageHeader
        title={t('nav.reports')}
        extra={
          <Space>
            <Button
              onClick={() => exportFile.mutate('csv')}
              loading={exportFile.isPending && exportFile.variables === 'csv'}
              data-testid="reports-export-csv"
            >
              {t('reports.exportCsv')}
            </Button>
            <Button
              onClick={() => exportFile.mutate('xlsx')}
              loading={exportFile.isPending && exportFile.variables === 'xlsx'}
              data-testid="reports-export-xlsx"
            >
              {t('reports.exportXlsx')}
            </Button>
          </Space>
        }
      >
        {t('reports.intro')}
      </PageHeader>
      <Form<Fields>
        layout="inline"
        className="block-gap"
        initialValues={{ groupBy: 'department' }}
        onFinish={(values) => setQuery(queryOf(values))}
        data-testid="reports-form"
      >
        <Form.Item name="groupBy" label={t('reports.groupBy')}>
          <Select
            style={{ width: 160 }}
            options={REPORT_GROUPS.map((g) => ({ value: g, label: t(`reports.groups.${g}`) }))}
            data-testid="reports-group-by"
          />
        </Form.Item>
        <Form.Item name="range" label={t('reports.range')}>
          <DatePicker.RangePicker allowEmpty={[true, true]} placeholder={[t('reports.from'), t('reports.to')]} />
        </Form.Item>
        <Button type="primary" htmlType="submit" data-testid="reports-submit">
          {t('reports.query')}
        </Button>
      </Form>
      <ProblemAlert error={report.error} />
      <Table<ReportRow>
        rowKey={(row) => String(row.key)}
        size="small"
        data-testid="reports-table"
        loading={report.isFetching}
        dataSource={report.data?.rows}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={[
          {
            title: t('reports.label'),
            dataIndex: 'label',
            render: (label: string | null, row) => label || row.key || '—',
          },
          ...counts.map((key) => ({ title: t(`reports.${key}`), dataIndex: key, align: 'right' as const })),
        ]}
        summary={() =>
          totals && (
            <Table.Summary.Row>
              <Table.Summary.Cell index={0}>
                <Typography.Text strong>{t('reports.totals')}</Typography.Text>
              </Table.Summary.Cell>
              {counts.map((key, index) => (
                <Table.Summary.Cell key={key} index={index + 1} align="right">
                  <Typography.Text strong data-testid={`reports-total-${key}`}>
                    {totals[key]}
                  </Typography.Text>
                </Table.Summary.Cell>
              ))}
            </Table.Summary.Row>
          )
        }
      />
    </>
  )
}
