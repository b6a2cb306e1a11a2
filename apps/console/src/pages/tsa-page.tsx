import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import {
  Alert,
  App,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Form,
  Input,
  InputNumber,
  Modal,
  Result,
  Select,
  Skeleton,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
  Upload,
} from 'antd'
import type { RangePickerProps } from 'antd/es/date-picker'
import { type ReactNode, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { useSearchParams } from 'react-router'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api, isApiError, type Query } from '../api/http'
import {
  fileToBase64,
  isTimeSourceAddress,
  TSA_ALGORITHMS,
  TSA_PROBLEMS,
  type TsaAlgorithm,
  type TsaCheck,
  type TsaSettings,
  type TsaSource,
  type TsaStatus,
  type TsaToken,
  type TsaUnit,
  type TsaVerification,
  tsaApi,
} from '../api/tsa'
import type { CertificateAuthority } from '../api/types'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'

type T = ReturnType<typeof useTranslation>['t']

const statusKey = ['tsa', 'status'] as const
const unitsKey = ['tsa', 'units'] as const
const sourcesKey = ['tsa', 'sources'] as const
const settingsKey = ['tsa', 'settings'] as const
const refreshMs = 3_000
const pageSize = 50
const tabs = ['status', 'sources', 'units', 'tokens', 'settings', 'system', 'verify'] as const
type TabKey = (typeof tabs)[number]

const OID = /^[0-2](\.(0|[1-9]\d*))+$/

function problemText(t: T, problem: string | null | undefined): string | undefined {
  if (!problem) return undefined
  return (TSA_PROBLEMS as readonly string[]).includes(problem)
    ? t(`tsa.problems.${problem as (typeof TSA_PROBLEMS)[number]}`)
    : problem
}

function algorithmText(t: T, algorithm: string): string {
  return (TSA_ALGORITHMS as readonly string[]).includes(algorithm)
    ? t(`tsa.algorithms.${algorithm as TsaAlgorithm}`)
    : algorithm
}

const ms = (t: T, value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : t('tsa.ms', { value: value.toFixed(digits) })

function useStatus() {
  return useQuery({ queryKey: statusKey, queryFn: tsaApi.status, refetchInterval: refreshMs })
}

/** A state change that needs a reason for the audit trail: start or stop. */
function ReasonDialog({ action, onClose }: { action: 'start' | 'stop' | null; onClose(): void }) {
  const { t } = useTranslation()
  const { message } = App.useApp()
  const [form] = Form.useForm<{ reason: string }>()
  const queryClient = useQueryClient()
  const change = useMutation({
    mutationFn: ({ reason }: { reason: string }) =>
      action === 'stop' ? tsaApi.stop(reason.trim()) : tsaApi.start(reason.trim()),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: statusKey })
      void message.success(t('common.saved'))
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Modal
      open={action !== null}
      title={action === 'stop' ? t('tsa.stop') : t('tsa.start')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okButtonProps={{ danger: action === 'stop', 'data-testid': 'tsa-reason-submit' }}
      confirmLoading={change.isPending}
      destroyOnHidden
    >
      <Typography.Paragraph>{action === 'stop' ? t('tsa.stopConfirm') : t('tsa.startConfirm')}</Typography.Paragraph>
      <Form form={form} layout="vertical" requiredMark={false} preserve={false} onFinish={(v) => change.mutate(v)}>
        <Form.Item
          name="reason"
          label={t('tsa.reason')}
          rules={[{ required: true, whitespace: true, message: <Translated k="tsa.reasonRequired" /> }]}
        >
          <Input.TextArea rows={3} maxLength={500} data-testid="tsa-reason" />
        </Form.Item>
        <ProblemAlert error={change.error} />
      </Form>
    </Modal>
  )
}

function StatusTab() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const status = useStatus()
  const [action, setAction] = useState<'start' | 'stop' | null>(null)
  if (status.error && !status.data) return <ProblemAlert error={status.error} />
  if (!status.data) return <Skeleton active />
  const s: TsaStatus = status.data
  const time = s.time
  const running = s.state === 'running'
  const reason = problemText(t, s.problem) ?? problemText(t, time?.problem)
  return (
    <Space direction="vertical" size="middle" className="full-width">
      <ProblemAlert error={status.error} />
      <Alert
        type={s.issuing ? 'success' : 'error'}
        showIcon
        data-testid="tsa-issuing"
        title={s.issuing ? t('tsa.issuingYes') : t('tsa.issuingNo')}
        description={!s.issuing && reason ? `${t('tsa.why')}: ${reason}` : undefined}
      />
      <Card
        title={t('tsa.state')}
        extra={
          <Space>
            <Typography.Text type="secondary">{t('tsa.refreshing')}</Typography.Text>
            {can('tsa.manage') &&
              (running ? (
                <Button danger onClick={() => setAction('stop')} data-testid="tsa-stop">
                  {t('tsa.stop')}
                </Button>
              ) : (
                <Button type="primary" onClick={() => setAction('start')} data-testid="tsa-start">
                  {t('tsa.start')}
                </Button>
              ))}
          </Space>
        }
      >
        <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small" data-testid="tsa-status">
          <Descriptions.Item label={t('tsa.state')}>
            <Tag color={running ? 'green' : 'red'} data-testid="tsa-state">
              {s.state === 'running' || s.state === 'stopped' ? t(`tsa.states.${s.state}`) : s.state}
            </Tag>
          </Descriptions.Item>
          {!running && s.stateReason && (
            <Descriptions.Item label={t('tsa.stopReason')}>{s.stateReason}</Descriptions.Item>
          )}
          <Descriptions.Item label={t('tsa.issuedTotal')}>
            <span data-testid="tsa-issued-total">{s.issuedTotal.toLocaleString(i18n.language)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('tsa.issuedLastMinute')}>
            {s.issuedLastMinute.toLocaleString(i18n.language)}
          </Descriptions.Item>
          <Descriptions.Item label={t('tsa.rate')}>
            {t('tsa.perSecond', { rate: s.ratePerSecond.toFixed(1) })}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('tsa.sync')}>
        {time ? (
          <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small" data-testid="tsa-sync">
            <Descriptions.Item label={t('tsa.sync')}>
              <Tag color={time.state === 'synchronised' ? 'green' : 'orange'} data-testid="tsa-sync-state">
                {time.state === 'synchronised' || time.state === 'unsynchronised'
                  ? t(`tsa.syncStates.${time.state}`)
                  : time.state}
              </Tag>
              {time.problem && <Typography.Text type="secondary">{problemText(t, time.problem)}</Typography.Text>}
            </Descriptions.Item>
            <Descriptions.Item label={t('tsa.offset')}>{ms(t, time.offsetMs, 3)}</Descriptions.Item>
            <Descriptions.Item label={t('tsa.jitter')}>{ms(t, time.jitterMs, 3)}</Descriptions.Item>
            <Descriptions.Item label={t('tsa.error')}>{ms(t, time.errorMs)}</Descriptions.Item>
            <Descriptions.Item label={t('tsa.lastSync')}>
              {time.lastSyncAt ? new Date(time.lastSyncAt).toLocaleString(i18n.language) : '—'}
            </Descriptions.Item>
            <Descriptions.Item label={t('tsa.tolerance')}>{ms(t, time.toleranceMs, 0)}</Descriptions.Item>
            <Descriptions.Item label={t('tsa.holdover')}>
              {t('tsa.seconds', { value: Math.round(time.holdoverMs / 1000) })}
            </Descriptions.Item>
          </Descriptions>
        ) : (
          <Typography.Text type="secondary">{t('tsa.noStatus')}</Typography.Text>
        )}
      </Card>
      <ReasonDialog action={action} onClose={() => setAction(null)} />
    </Space>
  )
}

function SourcesTab() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message, modal } = App.useApp()
  const [form] = Form.useForm<{ name: string; address: string }>()
  const queryClient = useQueryClient()
  const manage = can('tsa.manage')
  const sources = useQuery({ queryKey: sourcesKey, queryFn: tsaApi.sources })
  const status = useStatus()
  const live = new Map((status.data?.time?.sources ?? []).flatMap((s) => [[s.id, s] as const, [s.address, s] as const]))
  const changed = () => {
    void queryClient.invalidateQueries({ queryKey: sourcesKey })
    void queryClient.invalidateQueries({ queryKey: statusKey })
  }
  const add = useMutation({
    mutationFn: (body: { name: string; address: string }) =>
      tsaApi.addSource({ name: body.name.trim(), address: body.address.trim() }),
    onSuccess: () => {
      changed()
      form.resetFields()
      void message.success(t('common.saved'))
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const remove = useMutation({
    mutationFn: (source: TsaSource) => tsaApi.removeSource(source.id),
    onSuccess: () => {
      changed()
      void message.success(t('common.saved'))
    },
    onError: (error) => void message.error(error.message),
  })
  const liveOf = (source: TsaSource) => live.get(source.id) ?? live.get(source.address)

  return (
    <Space direction="vertical" size="middle" className="full-width">
      {manage && (
        <Card size="small" title={t('tsa.addSource')}>
          <Form
            form={form}
            layout="inline"
            requiredMark={false}
            onFinish={(values) => add.mutate(values)}
            data-testid="tsa-source-form"
          >
            <Form.Item
              name="name"
              label={t('tsa.sourceName')}
              rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
            >
              <Input maxLength={64} style={{ width: 200 }} data-testid="tsa-source-name" />
            </Form.Item>
            <Form.Item
              name="address"
              label={t('tsa.address')}
              tooltip={t('tsa.addressHint')}
              rules={[
                { required: true, whitespace: true, message: <Translated k="common.required" /> },
                {
                  validator: (_, value: string | undefined) =>
                    !value?.trim() || isTimeSourceAddress(value) ? Promise.resolve() : Promise.reject(),
                  message: <Translated k="tsa.addressInvalid" />,
                },
              ]}
            >
              <Input maxLength={260} style={{ width: 260 }} data-testid="tsa-source-address" />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={add.isPending} data-testid="tsa-source-add">
              {t('tsa.addSource')}
            </Button>
          </Form>
          <ProblemAlert error={add.error} className="block-gap" />
        </Card>
      )}
      <ProblemAlert error={sources.error} />
      <Table<TsaSource>
        rowKey="id"
        size="small"
        data-testid="tsa-sources-table"
        loading={sources.isPending}
        dataSource={sources.data}
        pagination={false}
        columns={[
          { title: t('tsa.sourceName'), dataIndex: 'name' },
          {
            title: t('tsa.address'),
            dataIndex: 'address',
            render: (a: string) => <Typography.Text code>{a}</Typography.Text>,
          },
          {
            title: t('tsa.reachable'),
            key: 'reachable',
            render: (_, s) => {
              const l = liveOf(s)
              if (!l) return <Tag>{t('tsa.noStatus')}</Tag>
              return (
                <Tag color={l.reachable ? 'green' : 'red'}>
                  {l.reachable ? t('tsa.reachable') : t('tsa.unreachable')}
                </Tag>
              )
            },
          },
          { title: t('tsa.lastOffset'), key: 'offset', render: (_, s) => ms(t, liveOf(s)?.lastOffsetMs, 3) },
          { title: t('tsa.delay'), key: 'delay', render: (_, s) => ms(t, liveOf(s)?.lastDelayMs, 3) },
          { title: t('tsa.stratum'), key: 'stratum', render: (_, s) => liveOf(s)?.stratum ?? '—' },
          {
            title: t('tsa.lastResponse'),
            key: 'lastResponse',
            render: (_, s) => {
              const at = liveOf(s)?.lastResponseAt
              return at ? new Date(at).toLocaleString(i18n.language) : '—'
            },
          },
          {
            title: t('tsa.selection'),
            key: 'selection',
            render: (_, s) => {
              const l = liveOf(s)
              if (!l) return '—'
              return l.selected ? (
                <Tag color="green">{t('tsa.selected')}</Tag>
              ) : (
                <Space size={4}>
                  <Tag color="orange">{t('tsa.rejected')}</Tag>
                  {l.rejectedReason && <Typography.Text type="secondary">{l.rejectedReason}</Typography.Text>}
                </Space>
              )
            },
          },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, source) =>
              manage && (
                <Button
                  type="link"
                  danger
                  size="small"
                  data-testid={`tsa-source-remove-${source.id}`}
                  onClick={() =>
                    modal.confirm({
                      title: t('tsa.removeSourceConfirm', { name: source.name }),
                      okButtonProps: { danger: true },
                      onOk: () => remove.mutateAsync(source),
                    })
                  }
                >
                  {t('tsa.removeSource')}
                </Button>
              ),
          },
        ]}
      />
    </Space>
  )
}

interface UnitFields {
  name: string
  algorithm: TsaAlgorithm
  caId?: string
  policy?: string
}

function UnitDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const { t } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const [form] = Form.useForm<UnitFields>()
  const queryClient = useQueryClient()
  const algorithm = Form.useWatch('algorithm', form)
  // Choosing the CA needs ca.read; without it the server's default CA for the algorithm is used.
  const authorities = useQuery({
    queryKey: ['ca'],
    queryFn: () => api<CertificateAuthority[]>('/api/v1/ca'),
    enabled: open && can('ca.read'),
  })
  const settings = useQuery({ queryKey: settingsKey, queryFn: tsaApi.settings, enabled: open })
  const create = useMutation({
    mutationFn: (values: UnitFields) =>
      tsaApi.createUnit({
        name: values.name.trim(),
        algorithm: values.algorithm,
        ...(values.caId && { caId: values.caId }),
        ...(values.policy && { policy: values.policy }),
      }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: unitsKey })
      void queryClient.invalidateQueries({ queryKey: statusKey })
      void message.success(t('common.saved'))
      onClose()
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const issuing = (authorities.data ?? []).filter(
    (ca) => ca.parentId !== null && ca.status === 'active' && (!algorithm || ca.algorithm === algorithm),
  )
  // Left empty the server picks an issuing CA that may use another algorithm (an ECDSA unit under the SM2 CA is
  // useless to OpenSSL users): preselect the issuing CA of the unit's own algorithm.
  const firstIssuing = issuing[0]?.id
  useEffect(() => {
    if (open && firstIssuing && !form.getFieldValue('caId')) form.setFieldValue('caId', firstIssuing)
  }, [open, firstIssuing, form])
  return (
    <Modal
      open={open}
      title={t('tsa.createUnit')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={create.isPending}
      okButtonProps={{ 'data-testid': 'tsa-unit-submit' }}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('tsa.createUnitDetail')}</Typography.Paragraph>
      <Form<UnitFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={{ algorithm: 'sm2' }}
        onFinish={(values) => create.mutate(values)}
      >
        <Form.Item
          name="name"
          label={t('tsa.unitName')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={64} data-testid="tsa-unit-name" />
        </Form.Item>
        <Form.Item name="algorithm" label={t('tsa.algorithm')}>
          <Select
            data-testid="tsa-unit-algorithm"
            options={TSA_ALGORITHMS.map((a) => ({ value: a, label: t(`tsa.algorithms.${a}`) }))}
            onChange={() => form.setFieldValue('caId', undefined)}
          />
        </Form.Item>
        {can('ca.read') && (
          <Form.Item name="caId" label={t('tsa.ca')}>
            <Select
              allowClear
              placeholder={t('tsa.caDefault')}
              loading={authorities.isPending}
              options={issuing.map((ca) => ({ value: ca.id, label: ca.name }))}
            />
          </Form.Item>
        )}
        <Form.Item name="policy" label={t('tsa.policy')}>
          <Select
            allowClear
            placeholder={t('tsa.policyDefault')}
            options={(settings.data?.policies ?? []).map((p) => ({ value: p, label: p }))}
          />
        </Form.Item>
        <ProblemAlert error={create.error} />
      </Form>
    </Modal>
  )
}

function UnitsTab() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message, modal } = App.useApp()
  const queryClient = useQueryClient()
  const [creating, setCreating] = useState(false)
  const manage = can('tsa.manage')
  const units = useQuery({ queryKey: unitsKey, queryFn: tsaApi.units })
  const done = () => {
    void queryClient.invalidateQueries({ queryKey: unitsKey })
    void queryClient.invalidateQueries({ queryKey: statusKey })
    void message.success(t('common.saved'))
  }
  const rollover = useMutation({
    mutationFn: (unit: TsaUnit) => tsaApi.rollover(unit.id),
    onSuccess: done,
    onError: (error) => void message.error(error.message),
  })
  const makeDefault = useMutation({
    mutationFn: (unit: TsaUnit) => tsaApi.setDefault(unit.id),
    onSuccess: done,
    onError: (error) => void message.error(error.message),
  })
  const day = (at: string) => (at ? new Date(at).toLocaleDateString(i18n.language) : '—')

  return (
    <Space direction="vertical" size="middle" className="full-width">
      {manage && (
        <div>
          <Button type="primary" onClick={() => setCreating(true)} data-testid="tsa-unit-create">
            {t('tsa.createUnit')}
          </Button>
        </div>
      )}
      <ProblemAlert error={units.error} />
      <Table<TsaUnit>
        rowKey="id"
        size="small"
        data-testid="tsa-units-table"
        loading={units.isPending}
        dataSource={units.data}
        pagination={false}
        columns={[
          {
            title: t('tsa.unitName'),
            dataIndex: 'name',
            render: (name: string, unit) => (
              <Space size={4}>
                <strong>{name}</strong>
                {unit.isDefault && (
                  <Tag color="blue" data-testid="tsa-unit-default">
                    {t('tsa.default')}
                  </Tag>
                )}
              </Space>
            ),
          },
          { title: t('tsa.algorithm'), dataIndex: 'algorithm', render: (a: string) => algorithmText(t, a) },
          {
            title: t('tsa.subject'),
            key: 'subject',
            render: (_, u) => u.certificate?.subject ?? '—',
          },
          {
            title: t('tsa.serial'),
            key: 'serial',
            render: (_, u) =>
              u.certificate?.serial ? (
                <Typography.Text code className="hash">
                  {u.certificate.serial}
                </Typography.Text>
              ) : (
                '—'
              ),
          },
          {
            title: t('tsa.validity'),
            key: 'validity',
            render: (_, u) =>
              u.certificate ? `${day(u.certificate.notBefore)} – ${day(u.certificate.notAfter)}` : '—',
          },
          { title: t('tsa.policy'), dataIndex: 'policy', render: (p: string | null) => p ?? t('tsa.policyDefault') },
          { title: t('tsa.retired'), dataIndex: 'retiredCount' },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, unit) =>
              manage && (
                <Space size={0}>
                  <Button
                    type="link"
                    size="small"
                    loading={rollover.isPending && rollover.variables?.id === unit.id}
                    data-testid={`tsa-unit-rollover-${unit.id}`}
                    onClick={() =>
                      modal.confirm({
                        title: t('tsa.rolloverConfirm', { name: unit.name }),
                        onOk: () => rollover.mutateAsync(unit),
                      })
                    }
                  >
                    {t('tsa.rollover')}
                  </Button>
                  {!unit.isDefault && (
                    <Button
                      type="link"
                      size="small"
                      data-testid={`tsa-unit-default-${unit.id}`}
                      onClick={() =>
                        modal.confirm({
                          title: t('tsa.setDefaultConfirm', { name: unit.name }),
                          onOk: () => makeDefault.mutateAsync(unit),
                        })
                      }
                    >
                      {t('tsa.setDefault')}
                    </Button>
                  )}
                </Space>
              ),
          },
        ]}
      />
      <UnitDialog open={creating} onClose={() => setCreating(false)} />
    </Space>
  )
}

interface TokenFilters {
  serial?: string
  requester?: string
  range?: RangePickerProps['value']
}

function TokensTab() {
  const { t, i18n } = useTranslation()
  const [form] = Form.useForm<TokenFilters>()
  const [filters, setFilters] = useState<Query>({})
  const tokens = useInfiniteQuery({
    queryKey: ['tsa', 'tokens', filters],
    queryFn: ({ pageParam }) => tsaApi.tokens({ ...filters, cursor: pageParam, limit: pageSize }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const rows = tokens.data?.pages.flatMap((page) => page.items) ?? []
  const search = (values: TokenFilters) =>
    setFilters({
      serial: values.serial?.trim().toLowerCase().replace(/^0x/, '').replaceAll(':', ''),
      requester: values.requester?.trim(),
      from: values.range?.[0]?.toISOString(),
      to: values.range?.[1]?.toISOString(),
    })
  return (
    <>
      <Form<TokenFilters>
        form={form}
        layout="inline"
        className="block-gap"
        onFinish={search}
        data-testid="tsa-token-filters"
      >
        <Form.Item name="serial">
          <Input placeholder={t('tsa.serial')} maxLength={80} allowClear style={{ width: 240 }} />
        </Form.Item>
        <Form.Item name="requester">
          <Input placeholder={t('tsa.requesterPlaceholder')} maxLength={200} allowClear style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="range">
          <DatePicker.RangePicker showTime allowEmpty={[true, true]} placeholder={[t('tsa.from'), t('tsa.to')]} />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" data-testid="tsa-token-search">
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
      <ProblemAlert error={tokens.error} />
      <Table<TsaToken>
        rowKey="serial"
        size="small"
        data-testid="tsa-tokens-table"
        loading={tokens.isFetching}
        dataSource={rows}
        pagination={false}
        columns={[
          {
            title: t('tsa.serial'),
            dataIndex: 'serial',
            render: (s: string) => (
              <Typography.Text code copyable className="hash">
                {s}
              </Typography.Text>
            ),
          },
          {
            title: t('tsa.genTime'),
            dataIndex: 'genTime',
            width: 180,
            render: (at: string) => new Date(at).toLocaleString(i18n.language),
          },
          { title: t('tsa.unit'), key: 'unit', render: (_, r) => r.unitName ?? r.unitId ?? '—' },
          { title: t('tsa.hashAlgorithm'), dataIndex: 'hashAlgorithm' },
          {
            title: t('tsa.imprint'),
            dataIndex: 'imprint',
            ellipsis: true,
            render: (v: string) => (
              <Typography.Text className="hash" title={v}>
                {v}
              </Typography.Text>
            ),
          },
          { title: t('tsa.policy'), dataIndex: 'policy' },
          {
            title: t('tsa.requester'),
            key: 'requester',
            render: (_, r) => [r.requesterIp, r.clientSystemId].filter(Boolean).join(' · ') || '—',
          },
        ]}
        footer={() =>
          tokens.hasNextPage ? (
            <Button onClick={() => void tokens.fetchNextPage()} loading={tokens.isFetchingNextPage}>
              {t('tsa.more')}
            </Button>
          ) : (
            t('tsa.end', { count: rows.length })
          )
        }
      />
    </>
  )
}

type SettingsFields = Omit<TsaSettings, 'version'>

function SettingsTab() {
  const { t } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const [form] = Form.useForm<SettingsFields>()
  const queryClient = useQueryClient()
  const writable = can('tsa.manage')
  const current = useQuery({ queryKey: settingsKey, queryFn: tsaApi.settings })
  const policies = Form.useWatch('policies', form) ?? current.data?.policies ?? []
  const save = useMutation({
    mutationFn: (values: SettingsFields) =>
      tsaApi.saveSettings({
        ...values,
        policies: values.policies.map((p) => p.trim()),
        version: current.data?.version ?? 0,
      }),
    onSuccess: (saved) => {
      queryClient.setQueryData(settingsKey, saved)
      void queryClient.invalidateQueries({ queryKey: statusKey })
      void message.success(t('common.saved'))
    },
    onError: (error) => showFieldProblems(form, error),
  })
  useEffect(() => {
    if (current.data) {
      const { version: _, ...fields } = current.data
      form.setFieldsValue(fields)
    }
  }, [current.data, form])

  if (current.error) return <ProblemAlert error={current.error} />
  if (!current.data) return <Skeleton active />
  const conflict = isApiError(save.error) && save.error.status === 409
  const number = (name: keyof SettingsFields, label: ReactNode, max: number, extra?: ReactNode) => (
    <Form.Item
      name={name}
      label={label}
      extra={extra}
      rules={[{ required: true, message: <Translated k="common.required" /> }]}
    >
      <InputNumber min={0} max={max} precision={0} style={{ width: 200 }} data-testid={`tsa-setting-${name}`} />
    </Form.Item>
  )
  return (
    <Card>
      <Form<SettingsFields>
        form={form}
        layout="vertical"
        disabled={!writable || save.isPending}
        onFinish={(values) => save.mutate(values)}
        data-testid="tsa-settings"
        className="settings-form"
      >
        <Form.Item
          name="policies"
          label={t('tsa.policies')}
          extra={t('tsa.policiesHint')}
          rules={[
            { required: true, type: 'array', min: 1, message: <Translated k="common.required" /> },
            {
              validator: (_, value: string[] | undefined) =>
                (value ?? []).every((p) => OID.test(p.trim())) ? Promise.resolve() : Promise.reject(),
              message: <Translated k="tsa.policyInvalid" />,
            },
          ]}
        >
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} data-testid="tsa-setting-policies" />
        </Form.Item>
        <Form.Item
          name="defaultPolicy"
          label={t('tsa.defaultPolicy')}
          extra={t('tsa.defaultPolicyHint')}
          rules={[{ required: true, message: <Translated k="common.required" /> }]}
        >
          <Select options={policies.map((p) => ({ value: p, label: p }))} style={{ width: 320 }} />
        </Form.Item>
        {number('toleranceMs', t('tsa.toleranceMs'), 60_000)}
        {number('holdoverSeconds', t('tsa.holdoverSeconds'), 86_400, t('tsa.holdoverHint'))}
        {number('pollIntervalSeconds', t('tsa.pollIntervalSeconds'), 3_600)}
        {conflict ? (
          <Alert
            type="warning"
            showIcon
            className="block-gap"
            title={t('tsa.conflict')}
            action={
              <Button
                size="small"
                onClick={() => {
                  save.reset()
                  void current.refetch()
                }}
              >
                {t('tsa.reload')}
              </Button>
            }
          />
        ) : (
          <ProblemAlert error={save.error} />
        )}
        {writable && (
          <Form.Item>
            <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="tsa-settings-submit">
              {t('common.save')}
            </Button>
            <Button className="button-gap" onClick={() => form.resetFields()} htmlType="button">
              {t('common.reset')}
            </Button>
          </Form.Item>
        )}
      </Form>
    </Card>
  )
}

const FACTS = [
  'listenAddress',
  'publicUrl',
  'workers',
  'hostname',
  'platform',
  'uptimeSeconds',
  'node',
  'openssl',
] as const

function factText(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

function SystemTab() {
  const { t } = useTranslation()
  const system = useQuery({ queryKey: ['tsa', 'system'], queryFn: tsaApi.system })
  if (system.error) return <ProblemAlert error={system.error} />
  if (!system.data) return <Skeleton active />
  const facts = system.data
  const known = new Set<string>(FACTS)
  const uptime = (s: unknown) => {
    const n = Number(s)
    if (!Number.isFinite(n)) return factText(s)
    const d = Math.floor(n / 86_400)
    const h = Math.floor((n % 86_400) / 3_600)
    const m = Math.floor((n % 3_600) / 60)
    return `${d ? `${d}d ` : ''}${h}h ${m}m`
  }
  return (
    <Card>
      <Descriptions column={1} size="small" bordered data-testid="tsa-system">
        {FACTS.filter((k) => k in facts).map((k) => (
          <Descriptions.Item key={k} label={t(`tsa.facts.${k}`)}>
            {k === 'uptimeSeconds' ? (
              uptime(facts[k])
            ) : k === 'publicUrl' ? (
              <Typography.Text code copyable>
                {factText(facts[k])}
              </Typography.Text>
            ) : (
              factText(facts[k])
            )}
          </Descriptions.Item>
        ))}
        {Object.entries(facts)
          .filter(([k]) => !known.has(k))
          .map(([k, v]) => (
            <Descriptions.Item key={k} label={k}>
              {factText(v)}
            </Descriptions.Item>
          ))}
      </Descriptions>
    </Card>
  )
}

/** The token file as the API wants it: base64 of the DER, whether the file is DER, PEM or base64 text. */
async function tokenFileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  if (bytes[0] !== 0x30) {
    const text = new TextDecoder().decode(bytes)
    const pem = /-----BEGIN [A-Z0-9 ]+-----([\s\S]+?)-----END [A-Z0-9 ]+-----/.exec(text)
    const body = (pem ? pem[1]! : text).replace(/\s+/g, '')
    if (/^[A-Za-z0-9+/]+=*$/.test(body)) return body
  }
  return fileToBase64(file)
}

const checkColour: Record<TsaCheck['status'], string> = { passed: 'green', failed: 'red', skipped: 'default' }

function VerifyTab() {
  const { t, i18n } = useTranslation()
  const [token, setToken] = useState<File | null>(null)
  const [data, setData] = useState<File | null>(null)
  const verify = useMutation({
    mutationFn: async (): Promise<TsaVerification> => {
      if (!token) throw new Error('no token file')
      return tsaApi.verify({
        token: await tokenFileToBase64(token),
        ...(data && { data: await fileToBase64(data) }),
      })
    },
  })
  const known = (name: string) =>
    [
      'structure',
      'content-digest',
      'signature',
      'signing-certificate',
      'trust',
      'content-type',
      'imprint',
      'nonce',
      'tsa-certificate',
    ].includes(name)
  const picker = (file: File | null, set: (f: File | null) => void, testId: string) => (
    <Upload
      maxCount={1}
      beforeUpload={(picked) => {
        set(picked)
        verify.reset()
        return false
      }}
      onRemove={() => {
        set(null)
        verify.reset()
      }}
      fileList={file ? [{ uid: testId, name: file.name, status: 'done' }] : []}
    >
      <Button data-testid={testId}>{t('tsa.chooseFile')}</Button>
    </Upload>
  )
  const result = verify.data
  return (
    <Space direction="vertical" size="middle" className="full-width">
      <Card>
        <Typography.Paragraph type="secondary">{t('tsa.verifyIntro')}</Typography.Paragraph>
        <Form layout="vertical">
          <Form.Item label={t('tsa.tokenFile')} required>
            {picker(token, setToken, 'tsa-verify-token')}
          </Form.Item>
          <Form.Item label={t('tsa.dataFile')}>{picker(data, setData, 'tsa-verify-data')}</Form.Item>
          <Button
            type="primary"
            disabled={!token}
            loading={verify.isPending}
            onClick={() => verify.mutate()}
            data-testid="tsa-verify-run"
          >
            {t('tsa.runVerify')}
          </Button>
        </Form>
      </Card>
      <ProblemAlert error={verify.error} />
      {result && (
        <Card data-testid="tsa-verify-result">
          <Result
            status={result.valid ? 'success' : 'error'}
            title={result.valid ? t('tsa.valid') : t('tsa.invalid')}
            subTitle={data ? undefined : t('tsa.noData')}
          />
          {result.tstInfo && (
            <Descriptions column={{ xs: 1, md: 2 }} size="small" className="block-gap">
              <Descriptions.Item label={t('tsa.genTime')}>
                {new Date(result.tstInfo.genTime).toLocaleString(i18n.language)}
              </Descriptions.Item>
              <Descriptions.Item label={t('tsa.serial')}>
                <Typography.Text code className="hash">
                  {result.tstInfo.serial}
                </Typography.Text>
              </Descriptions.Item>
              <Descriptions.Item label={t('tsa.policy')}>{result.tstInfo.policy}</Descriptions.Item>
              <Descriptions.Item label={t('tsa.hashAlgorithm')}>{result.tstInfo.hashAlgorithm}</Descriptions.Item>
              <Descriptions.Item label={t('tsa.imprint')}>
                <Typography.Text className="hash">{result.tstInfo.imprint}</Typography.Text>
              </Descriptions.Item>
              {result.tstInfo.accuracyMs !== undefined && result.tstInfo.accuracyMs !== null && (
                <Descriptions.Item label={t('tsa.accuracy')}>{ms(t, result.tstInfo.accuracyMs, 0)}</Descriptions.Item>
              )}
              {result.tstInfo.nonce && (
                <Descriptions.Item label={t('tsa.nonce')}>{result.tstInfo.nonce}</Descriptions.Item>
              )}
              {result.tsa && (
                <Descriptions.Item label={t('tsa.tsa')}>
                  {result.tsa.subject} ({result.tsa.serial})
                </Descriptions.Item>
              )}
            </Descriptions>
          )}
          <Table<TsaCheck>
            rowKey="name"
            size="small"
            pagination={false}
            data-testid="tsa-verify-checks"
            dataSource={[...result.checks]}
            columns={[
              {
                title: t('tsa.check'),
                dataIndex: 'name',
                render: (name: string) => (known(name) ? t(`tsa.checks.${name as 'structure'}`) : name),
              },
              {
                title: t('tsa.result'),
                dataIndex: 'status',
                render: (s: TsaCheck['status']) => (
                  <Tag color={checkColour[s] ?? 'default'}>{s in checkColour ? t(`tsa.checkStatuses.${s}`) : s}</Tag>
                ),
              },
              { title: t('tsa.detail'), dataIndex: 'reason' },
            ]}
          />
        </Card>
      )}
    </Space>
  )
}

const panes: Record<TabKey, () => ReactNode> = {
  status: () => <StatusTab />,
  sources: () => <SourcesTab />,
  units: () => <UnitsTab />,
  tokens: () => <TokensTab />,
  settings: () => <SettingsTab />,
  system: () => <SystemTab />,
  verify: () => <VerifyTab />,
}

/** The timestamp authority: status, time sources, signing units, token log, settings, system facts, verify tool. */
export function TsaPage() {
  const { t } = useTranslation()
  const [params, setParams] = useSearchParams()
  const asked = params.get('tab')
  const active: TabKey = (tabs as readonly string[]).includes(asked ?? '') ? (asked as TabKey) : 'status'
  return (
    <>
      <PageHeader title={t('tsa.title')}>{t('tsa.intro')}</PageHeader>
      <Tabs
        activeKey={active}
        onChange={(key) => setParams({ tab: key }, { replace: true })}
        destroyOnHidden
        data-testid="tsa-tabs"
        items={tabs.map((key) => ({
          key,
          label: <span data-testid={`tsa-tab-${key}`}>{t(`tsa.tabs.${key}`)}</span>,
          children: panes[key](),
        }))}
      />
    </>
  )
}
