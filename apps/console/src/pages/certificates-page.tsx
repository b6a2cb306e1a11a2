import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Button, Form, Input, InputNumber, Select, Space, Table, Tag, TreeSelect, Typography } from 'antd'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { useNavigate, useSearchParams } from 'react-router'
import { api } from '../api/http'
import {
  APPLICATION_PROFILES,
  CERTIFICATE_STATES,
  type Certificate,
  type CertificateState,
  type Page,
} from '../api/types'
import { InstitutionPicker, treeOptions, useChosenInstitution, useDepartmentTree } from '../components/organisation'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'

const pageSize = 20

export const certificateStatusColour: Record<CertificateState, string> = {
  active: 'green',
  suspended: 'orange',
  revoked: 'red',
  expired: 'default',
}

export function CertificateStatusTag({ status, testId }: { status: CertificateState; testId?: string }) {
  const { t } = useTranslation()
  return (
    <Tag color={certificateStatusColour[status]} data-testid={testId}>
      {(CERTIFICATE_STATES as readonly string[]).includes(status) ? t(`certificates.statuses.${status}`) : status}
    </Tag>
  )
}

export function profileName(t: ReturnType<typeof useTranslation>['t'], profile: string): string {
  return (APPLICATION_PROFILES as readonly string[]).includes(profile)
    ? t(`ra.profiles.${profile as (typeof APPLICATION_PROFILES)[number]}`)
    : profile
}

interface Filters {
  q?: string
  serial?: string
  status?: CertificateState
  departmentId?: string
  profile?: string
  expiringWithinDays?: number
}

/** Filters are kept in the address, so a search can be linked to (the RA page links to a serial). */
function filtersOf(params: URLSearchParams): Filters {
  const text = (key: string) => params.get(key)?.trim() || undefined
  const days = Number(params.get('expiringWithinDays'))
  const status = text('status')
  return {
    q: text('q'),
    serial: text('serial'),
    status: (CERTIFICATE_STATES as readonly string[]).includes(status ?? '') ? (status as CertificateState) : undefined,
    departmentId: text('departmentId'),
    profile: text('profile'),
    expiringWithinDays: Number.isInteger(days) && days > 0 ? days : undefined,
  }
}

export function CertificatesPage() {
  const { t, i18n } = useTranslation()
  const navigate = useNavigate()
  const [params, setParams] = useSearchParams()
  const filters = useMemo(() => filtersOf(params), [params])
  const [form] = Form.useForm<Filters>()
  const [page, setPage] = useState(1)
  const [institutionId, setInstitutionId] = useChosenInstitution()
  const tree = useDepartmentTree(institutionId)
  const certificates = useQuery({
    queryKey: ['certificates', filters, page],
    queryFn: () =>
      api<Page<Certificate>>('/api/v1/certificates', {
        query: { ...filters, offset: (page - 1) * pageSize, limit: pageSize },
      }),
    placeholderData: keepPreviousData,
  })
  const when = (at: string | null) => (at ? new Date(at).toLocaleString(i18n.language) : '—')

  return (
    <>
      <PageHeader title={t('nav.certificates')}>{t('certificates.intro')}</PageHeader>
      <Space direction="vertical" size="middle" className="full-width">
        <InstitutionPicker value={institutionId} onChange={setInstitutionId} />
        <Form<Filters>
          form={form}
          layout="inline"
          initialValues={filters}
          onFinish={(values) => {
            setPage(1)
            const next = new URLSearchParams()
            for (const [key, value] of Object.entries(values)) {
              if (value !== undefined && value !== null && String(value).trim() !== '') {
                next.set(key, String(value).trim())
              }
            }
            setParams(next)
          }}
          data-testid="certificates-search"
        >
          <Form.Item name="q">
            <Input
              placeholder={t('certificates.q')}
              maxLength={128}
              allowClear
              style={{ width: 200 }}
              data-testid="certificates-search-q"
            />
          </Form.Item>
          <Form.Item name="serial">
            <Input
              placeholder={t('certificates.serial')}
              maxLength={64}
              allowClear
              style={{ width: 220 }}
              data-testid="certificates-search-serial"
            />
          </Form.Item>
          <Form.Item name="departmentId">
            <TreeSelect
              allowClear
              placeholder={t('certificates.department')}
              treeData={treeOptions(tree.data ?? [])}
              style={{ width: 200 }}
            />
          </Form.Item>
          <Form.Item name="profile">
            <Select
              allowClear
              placeholder={t('certificates.profile')}
              style={{ width: 180 }}
              options={APPLICATION_PROFILES.map((p) => ({ value: p, label: t(`ra.profiles.${p}`) }))}
            />
          </Form.Item>
          <Form.Item name="status">
            <Select
              allowClear
              placeholder={t('certificates.status')}
              style={{ width: 120 }}
              options={CERTIFICATE_STATES.map((s) => ({ value: s, label: t(`certificates.statuses.${s}`) }))}
              data-testid="certificates-search-status"
            />
          </Form.Item>
          <Form.Item name="expiringWithinDays">
            <InputNumber
              min={1}
              max={3650}
              precision={0}
              placeholder={t('certificates.expiringWithin')}
              addonAfter={t('certificates.days')}
              style={{ width: 190 }}
            />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="certificates-search-submit">
              {t('common.search')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields()
                form.setFieldsValue({
                  q: undefined,
                  serial: undefined,
                  status: undefined,
                  departmentId: undefined,
                  profile: undefined,
                  expiringWithinDays: undefined,
                })
                setPage(1)
                setParams(new URLSearchParams())
              }}
            >
              {t('common.reset')}
            </Button>
          </Space>
        </Form>
        <ProblemAlert error={certificates.error} />
        <Table<Certificate>
          rowKey="id"
          data-testid="certificates-table"
          loading={certificates.isFetching}
          dataSource={certificates.data?.items}
          onRow={(c) => ({
            onClick: () => void navigate(`/certificates/${encodeURIComponent(c.id)}`),
            className: 'clickable',
          })}
          pagination={{
            current: page,
            pageSize,
            total: certificates.data?.total ?? 0,
            showSizeChanger: false,
            showTotal: (total) => t('common.total', { total }),
            onChange: setPage,
          }}
          columns={[
            {
              title: t('certificates.serial'),
              dataIndex: 'serial',
              render: (serial: string) => (
                <Typography.Text code className="hash">
                  {serial}
                </Typography.Text>
              ),
            },
            {
              title: t('certificates.staff'),
              dataIndex: 'staffName',
              render: (name: string | null, c) => name ?? c.subject,
            },
            {
              title: t('certificates.department'),
              dataIndex: 'departmentName',
              render: (v: string | null) => v ?? '—',
            },
            { title: t('certificates.profile'), dataIndex: 'profile', render: (p: string) => profileName(t, p) },
            {
              title: t('certificates.status'),
              dataIndex: 'status',
              render: (s: CertificateState) => <CertificateStatusTag status={s} />,
            },
            { title: t('certificates.notBefore'), dataIndex: 'notBefore', render: when },
            { title: t('certificates.notAfter'), dataIndex: 'notAfter', render: when },
          ]}
        />
      </Space>
    </>
  )
}
