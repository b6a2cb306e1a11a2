import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Form,
  Input,
  Modal,
  Result,
  Select,
  Skeleton,
  Space,
  Table,
  Typography,
} from 'antd'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useParams } from 'react-router'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api, isApiError } from '../api/http'
import { type CertificateDetail, REVOCATION_REASONS, type RevocationReason } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'
import { CertificateStatusTag, profileName } from './certificates-page'

type Action = 'revoke' | 'suspend' | 'resume'

interface ActionFields {
  reason?: RevocationReason
  comment?: string
}

/** Every RFC 5280 name the server may report, for showing a revocation (the form offers only REVOCATION_REASONS). */
const KNOWN_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const

function ReasonName({ reason }: { reason: string }) {
  const { t } = useTranslation()
  return (KNOWN_REASONS as readonly string[]).includes(reason) ? (
    <>
      {t(`certificates.reasons.${reason as (typeof KNOWN_REASONS)[number]}`)}{' '}
      <Typography.Text type="secondary">({reason})</Typography.Text>
    </>
  ) : (
    reason
  )
}

/** Revoke, suspend or resume, after the officer has seen what it does and (for revocation) chosen the reason. */
function ActionDialog({
  action,
  certificate,
  onClose,
}: {
  action: Action | null
  certificate: CertificateDetail
  onClose(): void
}) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<ActionFields>()
  const queryClient = useQueryClient()
  const path = `/api/v1/certificates/${encodeURIComponent(certificate.id)}`
  const act = useMutation({
    mutationFn: ({ reason, comment }: ActionFields) => {
      const note = comment?.trim() ? { comment: comment.trim() } : {}
      const version = certificate.version
      switch (action) {
        case 'revoke':
          return api<unknown>(`${path}/revocation`, { method: 'POST', body: { reason, ...note, version } })
        case 'suspend':
          return api<unknown>(`${path}/suspension`, { method: 'POST', body: { ...note, version } })
        default:
          return api<unknown>(`${path}/resumption`, { method: 'POST', body: { version } })
      }
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['certificates'] })
      void message.success(t('certificates.done'))
      act.reset()
      onClose()
    },
    onError: (error) => {
      showFieldProblems(form, error)
      // A stale version: show the certificate as it is now, so the officer can decide again.
      if (isApiError(error) && error.status === 409) void queryClient.invalidateQueries({ queryKey: ['certificates'] })
    },
  })
  const close = () => {
    act.reset()
    onClose()
  }
  const titles = {
    revoke: t('certificates.revokeTitle', { serial: certificate.serial }),
    suspend: t('certificates.suspendTitle', { serial: certificate.serial }),
    resume: t('certificates.resumeTitle', { serial: certificate.serial }),
  }
  const oks = { revoke: t('certificates.revoke'), suspend: t('certificates.suspend'), resume: t('certificates.resume') }
  return (
    <Modal
      open={action !== null}
      title={action ? titles[action] : ''}
      onCancel={close}
      onOk={() => form.submit()}
      okText={action ? oks[action] : undefined}
      okButtonProps={{ danger: action === 'revoke', 'data-testid': 'certificate-action-submit' }}
      confirmLoading={act.isPending}
      destroyOnHidden
      width={560}
    >
      <Form<ActionFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        onFinish={(values) => act.mutate(values)}
      >
        {action === 'revoke' && (
          <>
            <Alert type="warning" showIcon className="block-gap" title={t('certificates.revokeWarning')} />
            <Form.Item
              name="reason"
              label={t('certificates.reason')}
              rules={[{ required: true, message: <Translated k="certificates.reasonRequired" /> }]}
            >
              <Select
                data-testid="certificate-revoke-reason"
                options={REVOCATION_REASONS.map((r) => ({
                  value: r,
                  label: `${t(`certificates.reasons.${r}`)} (${r})`,
                }))}
              />
            </Form.Item>
          </>
        )}
        {action === 'suspend' && <Typography.Paragraph>{t('certificates.suspendDetail')}</Typography.Paragraph>}
        {action === 'resume' && <Typography.Paragraph>{t('certificates.resumeDetail')}</Typography.Paragraph>}
        {action !== 'resume' && (
          <Form.Item name="comment" label={t('certificates.comment')}>
            <Input.TextArea rows={3} maxLength={500} showCount data-testid="certificate-action-comment" />
          </Form.Item>
        )}
        <ProblemAlert error={act.error} testId="certificate-action-problem" />
      </Form>
    </Modal>
  )
}

const formats = ['pem', 'der', 'chain'] as const

export function CertificateDetailPage() {
  const { t, i18n } = useTranslation()
  const { id = '' } = useParams()
  const { can } = useSession()
  const { message } = App.useApp()
  const [action, setAction] = useState<Action | null>(null)
  const certificate = useQuery({
    queryKey: ['certificates', 'one', id],
    queryFn: () => api<CertificateDetail>(`/api/v1/certificates/${encodeURIComponent(id)}`),
  })
  const download = useMutation({
    mutationFn: async (format: (typeof formats)[number]) => ({
      format,
      blob: await api<Blob>(`/api/v1/certificates/${encodeURIComponent(id)}/download`, {
        query: { format },
        as: 'blob',
      }),
    }),
    onSuccess: ({ format, blob }) => {
      const url = URL.createObjectURL(blob)
      const link = document.createElement('a')
      link.href = url
      const serial = certificate.data?.serial ?? id
      link.download = format === 'der' ? `${serial}.cer` : format === 'chain' ? `${serial}-chain.pem` : `${serial}.pem`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    },
    onError: (error) => void message.error(error.message),
  })
  const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString(i18n.language) : '—')
  const back = <Link to="/certificates">{t('certificates.back')}</Link>

  if (certificate.error) {
    return (
      <>
        <PageHeader title={t('certificates.detail')} extra={back} />
        {isApiError(certificate.error) && certificate.error.status === 404 ? (
          <Result status="404" title={certificate.error.title} subTitle={certificate.error.detail} />
        ) : (
          <ProblemAlert error={certificate.error} />
        )}
      </>
    )
  }
  const c = certificate.data
  if (!c) return <Skeleton active />
  const manage = can('certificates.manage')
  const live = c.status === 'active' || c.status === 'suspended'

  return (
    <>
      <PageHeader
        title={`${t('certificates.detail')} · ${c.staffName ?? c.subject}`}
        extra={
          <Space wrap>
            {back}
            {formats.map((format) => (
              <Button
                key={format}
                onClick={() => download.mutate(format)}
                loading={download.isPending && download.variables === format}
                data-testid={`certificate-download-${format}`}
              >
                {t('certificates.download')}{' '}
                {t(
                  format === 'pem'
                    ? 'certificates.downloadPem'
                    : format === 'der'
                      ? 'certificates.downloadDer'
                      : 'certificates.downloadChain',
                )}
              </Button>
            ))}
            {manage && c.status === 'active' && (
              <Button onClick={() => setAction('suspend')} data-testid="certificate-suspend">
                {t('certificates.suspend')}
              </Button>
            )}
            {manage && c.status === 'suspended' && (
              <Button onClick={() => setAction('resume')} data-testid="certificate-resume">
                {t('certificates.resume')}
              </Button>
            )}
            {manage && live && (
              <Button danger type="primary" onClick={() => setAction('revoke')} data-testid="certificate-revoke">
                {t('certificates.revoke')}
              </Button>
            )}
          </Space>
        }
      />
      <Space direction="vertical" size="middle" className="full-width" data-testid="certificate-detail">
        <Card>
          <Descriptions column={{ xs: 1, lg: 2 }} bordered size="small">
            <Descriptions.Item label={t('certificates.status')}>
              <CertificateStatusTag status={c.status} testId="certificate-status" />
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.serial')}>
              <Typography.Text code copyable className="hash" data-testid="certificate-serial">
                {c.serial}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.subject')} span={2}>
              {c.subject}
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.staff')}>{c.staffName ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.department')}>{c.departmentName ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.profile')}>{profileName(t, c.profile)}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.keyAlgorithm')}>{c.keyAlgorithm}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.issuer')} span={2}>
              {c.issuerName}
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.notBefore')}>{when(c.notBefore)}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.notAfter')}>{when(c.notAfter)}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.statusChangedAt')}>{when(c.statusChangedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('certificates.supersededBy')}>
              {c.supersededBy ? (
                <Link to={`/certificates/${encodeURIComponent(c.supersededBy)}`}>{c.supersededBy}</Link>
              ) : (
                '—'
              )}
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.fingerprintSm3')} span={2}>
              <Typography.Text code copyable className="hash">
                {c.fingerprintSm3}
              </Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('certificates.fingerprintSha256')} span={2}>
              <Typography.Text code copyable className="hash">
                {c.fingerprintSha256}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
        </Card>
        {c.revocation && (
          <Card title={t('certificates.revocation')} data-testid="certificate-revocation">
            <Descriptions column={1} bordered size="small">
              <Descriptions.Item label={t('certificates.reason')}>
                <span data-testid="certificate-revocation-reason">
                  <ReasonName reason={c.revocation.reason} />
                </span>
              </Descriptions.Item>
              <Descriptions.Item label={t('certificates.revokedAt')}>{when(c.revocation.at)}</Descriptions.Item>
              <Descriptions.Item label={t('certificates.invalidityDate')}>
                {when(c.revocation.invalidityDate)}
              </Descriptions.Item>
            </Descriptions>
          </Card>
        )}
        {c.history && c.history.length > 0 && (
          <Card title={t('certificates.history')}>
            <Table
              size="small"
              rowKey={(h) => `${h.at}-${h.type}`}
              pagination={false}
              dataSource={c.history}
              columns={[
                { title: t('certificates.historyAt'), dataIndex: 'at', render: when },
                { title: t('certificates.historyEvent'), dataIndex: 'type' },
                { title: t('certificates.historyActor'), dataIndex: 'actor', render: (v: string) => v || '—' },
              ]}
            />
          </Card>
        )}
        <Card title={t('certificates.pem')}>
          <Typography.Paragraph copyable={{ text: c.pem }} className="block-gap">
            <pre className="json-view" data-testid="certificate-pem">
              {c.pem}
            </pre>
          </Typography.Paragraph>
        </Card>
      </Space>
      <ActionDialog action={action} certificate={c} onClose={() => setAction(null)} />
    </>
  )
}
