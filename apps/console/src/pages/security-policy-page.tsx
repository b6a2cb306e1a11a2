import { Form, InputNumber, Switch } from 'antd'
import { useTranslation } from 'react-i18next'
import type { SecurityPolicy } from '../api/types'
import { PageHeader } from '../components/page-header'
import { VersionedForm } from '../components/versioned-form'
import { useSession } from '../session/session'

/** Bounds the server enforces (a policy cannot switch the protections off); mirrored for immediate feedback. */
const limits: Record<Exclude<keyof SecurityPolicy, 'totpRequiredForAll'>, [number, number]> = {
  passwordMinLength: [8, 64],
  passwordMinClasses: [2, 4],
  passwordMaxAgeDays: [0, 365],
  lockoutThreshold: [3, 10],
  lockoutMinutes: [5, 1440],
  sourceFailureLimit: [5, 1000],
  idleTimeoutMinutes: [5, 120],
  absoluteTimeoutHours: [1, 24],
}

export function SecurityPolicyPage() {
  const { t } = useTranslation()
  const { can } = useSession()
  return (
    <>
      <PageHeader title={t('nav.securityPolicy')}>{t('policy.intro')}</PageHeader>
      <VersionedForm<SecurityPolicy>
        path="/api/v1/policies/security"
        writable={can('policies.write')}
        testId="policy-form"
      >
        {(Object.keys(limits) as (keyof typeof limits)[]).map((key) => {
          const [min, max] = limits[key]
          return (
            <Form.Item
              key={key}
              name={key}
              label={t(`policy.${key}`)}
              extra={t('policy.range', { min, max })}
              rules={[{ required: true, type: 'integer', min, max, message: t('policy.range', { min, max }) }]}
            >
              <InputNumber min={min} max={max} precision={0} data-testid={`policy-${key}`} />
            </Form.Item>
          )
        })}
        <Form.Item name="totpRequiredForAll" label={t('policy.totpRequiredForAll')} valuePropName="checked">
          <Switch />
        </Form.Item>
      </VersionedForm>
    </>
  )
}
