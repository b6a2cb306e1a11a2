import { Alert, Card, Descriptions, Space } from 'antd'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router'
import { ADMINISTRATOR_ROLES } from '../api/types'
import { PageHeader } from '../components/page-header'
import { RoleTags } from '../components/role-tags'
import { navItems } from '../layout/nav'
import { useSession } from '../session/session'

export function HomePage() {
  const { t, i18n } = useTranslation()
  const { session, can } = useSession()
  if (!session) return null
  const { account } = session
  const administratorRoles = account.roles.filter((role) => ADMINISTRATOR_ROLES.includes(role))
  return (
    <Space direction="vertical" size="large" className="full-width" data-testid="home">
      <PageHeader title={t('home.welcome', { name: account.displayName })} />
      {administratorRoles.length > 1 && (
        <Alert type="warning" showIcon title={t('home.bootstrapTitle')} description={t('home.bootstrapDetail')} />
      )}
      <Card title={t('home.account')}>
        <Descriptions column={1} size="small">
          <Descriptions.Item label={t('accounts.username')}>{account.username}</Descriptions.Item>
          <Descriptions.Item label={t('accounts.roles')}>
            <RoleTags roles={account.roles} />
          </Descriptions.Item>
          <Descriptions.Item label={t('home.sessionUntil')}>
            {new Date(session.expiresAt).toLocaleString(i18n.language)}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('home.shortcuts')}>
        <Space wrap>
          {navItems
            .filter((item) => can(item.permission))
            .map((item) => (
              <Link key={item.path} to={`/${item.path}`}>
                {t(item.label)}
              </Link>
            ))}
        </Space>
      </Card>
    </Space>
  )
}
