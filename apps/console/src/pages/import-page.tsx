import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Alert, Button, Card, Descriptions, Segmented, Space, Table, Tag, Upload } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api, isApiError } from '../api/http'
import type { BulkResult, BulkSummary, RowError } from '../api/types'
import { InstitutionPicker, useChosenInstitution, useInstitutions } from '../components/organisation'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'

type Kind = 'departments' | 'staff'
const maxBytes = 10 * 1024 * 1024
const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

/** The content type the server parses by: browsers label CSV inconsistently (Windows says application/vnd.ms-excel). */
function typedFile(file: File): Blob | undefined {
  const name = file.name.toLowerCase()
  if (name.endsWith('.csv')) return new Blob([file], { type: 'text/csv' })
  if (name.endsWith('.xlsx')) return new Blob([file], { type: xlsxType })
  return undefined
}

function RowErrors({ errors, truncated }: { errors: readonly RowError[]; truncated: boolean }) {
  const { t, i18n } = useTranslation()
  const english = i18n.language.startsWith('en')
  return (
    <Table<RowError>
      size="small"
      data-testid="import-errors"
      rowKey={(e) => `${e.row}-${e.column}-${e.message.en}`}
      dataSource={errors as RowError[]}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
      title={() => (truncated ? t('import.errorsTruncated', { count: errors.length }) : t('import.errors'))}
      columns={[
        { title: t('import.row'), dataIndex: 'row', width: 90 },
        { title: t('import.column'), key: 'column', width: 180, render: (_, e) => e.header ?? e.column },
        { title: t('import.message'), key: 'message', render: (_, e) => (english ? e.message.en : e.message.zh) },
      ]}
    />
  )
}

function Summary({ summary }: { summary: BulkSummary }) {
  const { t } = useTranslation()
  return (
    <Descriptions size="small" column={5} bordered data-testid="import-summary">
      <Descriptions.Item label={t('import.rows')}>{summary.rows}</Descriptions.Item>
      <Descriptions.Item label={t('import.create')}>{summary.create}</Descriptions.Item>
      <Descriptions.Item label={t('import.update')}>{summary.update}</Descriptions.Item>
      <Descriptions.Item label={t('import.unchanged')}>{summary.unchanged}</Descriptions.Item>
      <Descriptions.Item label={t('import.errorRows')}>{summary.errors}</Descriptions.Item>
    </Descriptions>
  )
}

export function ImportPage() {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const [kind, setKind] = useState<Kind>('staff')
  const [institutionId, setInstitutionId] = useChosenInstitution()
  const institutions = useInstitutions()
  const institution = institutions.data?.find((i) => i.id === institutionId)
  const [file, setFile] = useState<File | null>(null)
  const [fileError, setFileError] = useState<string | null>(null)

  const run = useMutation({
    mutationFn: ({ dryRun }: { dryRun: boolean }) => {
      const body = file ? typedFile(file) : undefined
      if (!file || !body || !institution) throw new Error(t('import.pickFile'))
      return api<BulkResult>(`/api/v1/org/imports/${kind}`, {
        method: 'POST',
        body,
        query: { institution: institution.code, dryRun, fileName: file.name.slice(0, 200) },
      })
    },
    onSuccess: (result) => {
      if (result.applied) {
        void queryClient.invalidateQueries({ queryKey: ['departments'] })
        void queryClient.invalidateQueries({ queryKey: ['staff'] })
      }
    },
  })
  const result = run.data
  // A real run refused for row errors answers 422 with the rows, like a dry run would have listed them.
  const rejected =
    isApiError(run.error) && Array.isArray(run.error.body.rowErrors) ? (run.error.body.rowErrors as RowError[]) : null

  const reset = (next: File | null) => {
    setFile(next)
    run.reset()
  }

  return (
    <>
      <PageHeader title={t('nav.import')}>{t('import.intro')}</PageHeader>
      <Space direction="vertical" size="middle" className="full-width">
        <Space wrap size="large">
          <Segmented<Kind>
            value={kind}
            onChange={(next) => {
              setKind(next)
              run.reset()
            }}
            options={[
              { value: 'staff', label: t('nav.staff') },
              { value: 'departments', label: t('nav.departments') },
            ]}
            data-testid="import-kind"
          />
          <InstitutionPicker value={institutionId} onChange={setInstitutionId} />
        </Space>
        <Alert type="info" showIcon title={t(`import.columns.${kind}`)} description={t('import.rules')} />
        <Card>
          <Upload.Dragger
            accept=".csv,.xlsx"
            maxCount={1}
            data-testid="import-file"
            fileList={file ? [{ uid: 'file', name: file.name, size: file.size, status: 'done' }] : []}
            beforeUpload={(picked) => {
              if (picked.size > maxBytes) setFileError(t('import.tooLarge'))
              else if (!typedFile(picked)) setFileError(t('import.wrongType'))
              else {
                setFileError(null)
                reset(picked)
              }
              // Kept in the page: it is sent to the dry run, not uploaded on its own.
              return false
            }}
            onRemove={() => reset(null)}
          >
            <p>{t('import.drop')}</p>
            <p className="muted">{t('import.limits')}</p>
          </Upload.Dragger>
          {fileError && <Alert type="error" showIcon title={fileError} className="block-gap-top" />}
          <Space className="block-gap-top">
            <Button
              type="primary"
              disabled={!file || !institution}
              loading={run.isPending && run.variables?.dryRun}
              onClick={() => run.mutate({ dryRun: true })}
              data-testid="import-dry-run"
            >
              {t('import.dryRun')}
            </Button>
            <Button
              danger
              disabled={
                !result?.dryRun || result.summary.errors > 0 || result.summary.create + result.summary.update === 0
              }
              loading={run.isPending && run.variables?.dryRun === false}
              onClick={() => run.mutate({ dryRun: false })}
              data-testid="import-apply"
            >
              {t('import.apply')}
            </Button>
          </Space>
        </Card>
        {run.error && <ProblemAlert error={run.error} testId="import-problem" />}
        {rejected && <RowErrors errors={rejected} truncated={false} />}
        {result && (
          <Card
            title={
              result.applied ? (
                <Tag color="green" data-testid="import-applied">
                  {t('import.applied')}
                </Tag>
              ) : (
                t('import.dryRunResult')
              )
            }
          >
            <Space direction="vertical" size="middle" className="full-width">
              <Summary summary={result.summary} />
              {result.errors.length > 0 ? (
                <>
                  <Alert type="warning" showIcon title={t('import.fixFirst')} />
                  <RowErrors errors={result.errors} truncated={result.errorsTruncated} />
                </>
              ) : (
                !result.applied && <Alert type="success" showIcon title={t('import.ready')} />
              )}
              {result.changes.length > 0 && (
                <Table
                  size="small"
                  rowKey="row"
                  dataSource={result.changes}
                  pagination={{ pageSize: 20, hideOnSinglePage: true }}
                  title={() => t(result.changesTruncated ? 'import.changesTruncated' : 'import.changes')}
                  columns={[
                    { title: t('import.row'), dataIndex: 'row', width: 90 },
                    { title: t('import.key'), dataIndex: 'key' },
                    {
                      title: t('import.action'),
                      dataIndex: 'action',
                      render: (action: 'create' | 'update') => t(`import.${action}`),
                    },
                  ]}
                />
              )}
            </Space>
          </Card>
        )}
      </Space>
    </>
  )
}
