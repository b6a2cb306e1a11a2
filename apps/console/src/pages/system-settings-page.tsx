import { Form, Input, InputNumber } from 'antd'
import { useTranslation } from 'react-i18next'
import type { SystemSettings } from '../api/types'
import { PageHeader } from '../components/page-header'
import { VersionedForm } from '../components/versioned-form'
import { useSession } from '../session/session'

const retentionMinDays = 180

export function SystemSettingsPage() {
  const { t } = useTranslation()
  const { can } = useSession()
  return (
    <>
      <PageHeader title={t('nav.systemSettings')}>{t('settings.intro')}</PageHeader>
      <VersionedForm<SystemSettings>
        path="/api/v1/system/settings"
        writable={can('system.settings.write')}
        testId="settings-form"
      >
        <Form.Item name="organisationName" label={t('settings.organisationName')} rules={[{ max: 128 }]}>
          <Input maxLength={128} data-testid="settings-organisation-name" />
        </Form.Item>
        <Form.Item
          name="auditRetentionDays"
          label={t('settings.auditRetentionDays')}
          extra={t('settings.auditRetentionHint', { min: retentionMinDays })}
          rules={[{ required: true, type: 'integer', min: retentionMinDays, max: 36_500 }]}
        >
          <InputNumber min={retentionMinDays} max={36_500} precision={0} />
        </Form.Item>
      </VersionedForm>
    </>
  )
}
