import { Alert, Descriptions, Modal, Typography } from 'antd'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'

/** A secret the server shows only once (initial password, client secret): copy it now, it cannot be shown again. */
export function SecretOnce({
  open,
  title,
  items,
  secretLabel,
  secret,
  onClose,
}: {
  open: boolean
  title: string
  items: { label: string; value: ReactNode }[]
  secretLabel: string
  secret: string
  onClose(): void
}) {
  const { t } = useTranslation()
  return (
    <Modal
      open={open}
      title={title}
      onCancel={onClose}
      onOk={onClose}
      okText={t('common.secretSaved')}
      cancelButtonProps={{ style: { display: 'none' } }}
      maskClosable={false}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'secret-close' }}
    >
      <Alert type="warning" showIcon title={t('common.secretOnce')} className="block-gap" />
      <Descriptions column={1} bordered size="small">
        {items.map((item) => (
          <Descriptions.Item key={item.label} label={item.label}>
            {item.value}
          </Descriptions.Item>
        ))}
        <Descriptions.Item label={secretLabel}>
          <Typography.Text code copyable={{ text: secret }} data-testid="secret-value">
            {secret}
          </Typography.Text>
        </Descriptions.Item>
      </Descriptions>
    </Modal>
  )
}
