import { useMutation } from '@tanstack/react-query'
import { Button, Layout, Menu, type MenuProps, Space, Typography } from 'antd'
import { useTranslation } from 'react-i18next'
import { Outlet, useLocation, useNavigate } from 'react-router'
import { LanguageSwitch } from '../../../shared/src/language-switch'
import { Brand } from '../components/brand'
import { RoleTags } from '../components/role-tags'
import { useSession } from '../session/session'
import { navItems } from './nav'

const groups = ['identity', 'organisation', 'certificates', 'integration', 'audit'] as const

/** The signed-in console: side menu by permission, the user's name, roles, language and sign-out. */
export function AppLayout() {
  const { t } = useTranslation()
  const { session, can, signOut: endSession } = useSession()
  const location = useLocation()
  const navigate = useNavigate()
  // The session gate sends the page to sign-in once the session is gone.
  const signOut = useMutation({ mutationFn: endSession })

  const items: MenuProps['items'] = [
    { key: '/', label: t('nav.home') },
    ...groups.flatMap((group) => {
      const children = navItems
        .filter((item) => item.group === group && can(item.permission))
        .map((item) => ({
          key: `/${item.path}`,
          label: t(item.label),
          'data-testid': `nav-${item.path.replace('/', '-')}`,
        }))
      return children.length > 0
        ? [{ type: 'group' as const, key: group, label: t(`nav.groups.${group}`), children }]
        : []
    }),
  ]
  const selected = `/${location.pathname.split('/').filter(Boolean).slice(0, 2).join('/')}`.replace(/^\/$/, '/')

  return (
    <Layout className="console-layout">
      <Layout.Header className="console-header">
        <Brand />
        <Space size="middle" data-testid="user-menu">
          <span className="console-header__user">
            <Typography.Text strong data-testid="current-user">
              {session?.account.displayName}
            </Typography.Text>
            <RoleTags roles={session?.account.roles ?? []} />
          </span>
          <LanguageSwitch />
          <Button data-testid="sign-out" onClick={() => signOut.mutate()} loading={signOut.isPending}>
            {t('nav.signOut')}
          </Button>
        </Space>
      </Layout.Header>
      <Layout>
        <Layout.Sider width={220} theme="light" className="console-sider">
          <Menu
            mode="inline"
            selectedKeys={[selected]}
            items={items}
            onClick={({ key }) => void navigate(key)}
            data-testid="side-menu"
          />
        </Layout.Sider>
        <Layout.Content className="console-content">
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  )
}
