import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { App, Button, Descriptions, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { CertificateAuthority } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'

const caKey = ['ca'] as const
const algorithms = ['sm2', 'ecdsa-p256', 'rsa-3072'] as const

interface HierarchyFields {
  algorithm: (typeof algorithms)[number]
  rootName: string
  issuingName: string
}

function HierarchyDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<HierarchyFields>()
  const queryClient = useQueryClient()
  const create = useMutation({
    mutationFn: (body: HierarchyFields) => api<unknown>('/api/v1/ca/hierarchies', { method: 'POST', body }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: caKey })
      void message.success(t('ca.created'))
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Modal
      open={open}
      title={t('ca.createHierarchy')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={create.isPending}
      okButtonProps={{ 'data-testid': 'ca-hierarchy-submit' }}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('ca.createHierarchyDetail')}</Typography.Paragraph>
      <Form<HierarchyFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={{ algorithm: 'sm2' }}
        onFinish={(values) => create.mutate(values)}
      >
        <Form.Item name="algorithm" label={t('ca.algorithm')}>
          <Select options={algorithms.map((a) => ({ value: a, label: t(`ca.algorithms.${a}`) }))} />
        </Form.Item>
        <Form.Item
          name="rootName"
          label={t('ca.rootName')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={64} data-testid="ca-root-name" />
        </Form.Item>
        <Form.Item
          name="issuingName"
          label={t('ca.issuingName')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={64} data-testid="ca-issuing-name" />
        </Form.Item>
        <ProblemAlert error={create.error} />
      </Form>
    </Modal>
  )
}

function Publication({ ca }: { ca: CertificateAuthority }) {
  const { t } = useTranslation()
  const origin = window.location.origin
  const link = (path: string) => (
    <Typography.Text code copyable={{ text: `${origin}${path}` }}>
      <a href={path} target="_blank" rel="noreferrer">
        {path}
      </a>
    </Typography.Text>
  )
  const id = encodeURIComponent(ca.id)
  return (
    <Descriptions column={1} size="small">
      <Descriptions.Item label={t('ca.subject')}>{ca.subject}</Descriptions.Item>
      <Descriptions.Item label={t('ca.keyUri')}>
        <Typography.Text code>{ca.keyUri}</Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t('ca.caCertificate')}>{link(`/pki/ca/${id}.crt`)}</Descriptions.Item>
      <Descriptions.Item label={t('ca.crl')}>{link(`/pki/crl/${id}.crl`)}</Descriptions.Item>
      <Descriptions.Item label={t('ca.ocsp')}>{link('/pki/ocsp')}</Descriptions.Item>
    </Descriptions>
  )
}

export function CaPage() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message, modal } = App.useApp()
  const queryClient = useQueryClient()
  const [creating, setCreating] = useState(false)
  const authorities = useQuery({ queryKey: caKey, queryFn: () => api<CertificateAuthority[]>('/api/v1/ca') })
  const renew = useMutation({
    mutationFn: (ca: CertificateAuthority) =>
      api<unknown>(`/api/v1/ca/${encodeURIComponent(ca.id)}/ocsp-responder`, { method: 'POST' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: caKey })
      void message.success(t('common.saved'))
    },
    onError: (error) => void message.error(error.message),
  })
  const day = (at: string) => new Date(at).toLocaleDateString(i18n.language)
  const names = new Map((authorities.data ?? []).map((ca) => [ca.id, ca.name]))
  const manage = can('ca.manage')

  return (
    <>
      <PageHeader
        title={t('nav.ca')}
        extra={
          manage && (
            <Button type="primary" onClick={() => setCreating(true)} data-testid="ca-create">
              {t('ca.createHierarchy')}
            </Button>
          )
        }
      >
        {t('ca.intro')}
      </PageHeader>
      <ProblemAlert error={authorities.error} />
      <Table<CertificateAuthority>
        rowKey="id"
        data-testid="ca-table"
        loading={authorities.isPending}
        dataSource={authorities.data}
        pagination={false}
        // The publication addresses are what relying parties need: always shown, under each CA.
        expandable={{
          expandedRowRender: (ca) => <Publication ca={ca} />,
          expandedRowKeys: (authorities.data ?? []).map((ca) => ca.id),
          showExpandColumn: false,
        }}
        columns={[
          {
            title: t('ca.name'),
            dataIndex: 'name',
            render: (name: string, ca) => (
              <Space direction="vertical" size={0}>
                <strong>{name}</strong>
                <Typography.Text type="secondary" className="hash">
                  {ca.id}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t('ca.algorithm'),
            dataIndex: 'algorithm',
            render: (a: string) =>
              (algorithms as readonly string[]).includes(a)
                ? t(`ca.algorithms.${a as (typeof algorithms)[number]}`)
                : a,
          },
          {
            title: t('ca.parent'),
            dataIndex: 'parentId',
            render: (p: string | null) => (p ? (names.get(p) ?? p) : <Tag color="purple">{t('ca.root')}</Tag>),
          },
          {
            title: t('ca.status'),
            dataIndex: 'status',
            render: (s: string) => (
              <Tag color={s === 'active' ? 'green' : 'default'}>
                {s === 'active' || s === 'retired' ? t(`ca.statuses.${s}`) : s}
              </Tag>
            ),
          },
          {
            title: t('ca.validity'),
            key: 'validity',
            render: (_, ca) => `${day(ca.notBefore)} – ${day(ca.notAfter)}`,
          },
          {
            title: t('ca.crl'),
            dataIndex: 'crl',
            render: (crl: CertificateAuthority['crl']) =>
              crl ? t('ca.crlNumber', { number: crl.number, at: day(crl.nextUpdate) }) : t('ca.none'),
          },
          {
            title: t('ca.ocspResponder'),
            dataIndex: 'ocspResponder',
            render: (r: CertificateAuthority['ocspResponder']) =>
              r ? <span title={r.serial}>{t('ca.ocspUntil', { at: day(r.notAfter) })}</span> : t('ca.none'),
          },
          { title: t('ca.issuedCount'), dataIndex: 'issuedCount' },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, ca) =>
              manage &&
              ca.parentId !== null &&
              ca.status === 'active' && (
                <Button
                  type="link"
                  size="small"
                  loading={renew.isPending && renew.variables?.id === ca.id}
                  onClick={() =>
                    modal.confirm({
                      title: t('ca.renewOcspConfirm', { name: ca.name }),
                      onOk: () => renew.mutateAsync(ca),
                    })
                  }
                >
                  {t('ca.renewOcsp')}
                </Button>
              ),
          },
        ]}
      />
      <HierarchyDialog open={creating} onClose={() => setCreating(false)} />
    </>
  )
}
