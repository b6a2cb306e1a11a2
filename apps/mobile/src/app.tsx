import { ConfigProvider } from 'antd-mobile'
import enUS from 'antd-mobile/es/locales/en-US'
import zhCN from 'antd-mobile/es/locales/zh-CN'
import { useTranslation } from 'react-i18next'
import { toLanguage } from './i18n'
import { LoginPage } from './pages/login-page'

export function App() {
  const { i18n } = useTranslation()
  const locale = toLanguage(i18n.language) === 'en' ? enUS : zhCN
  return (
    <ConfigProvider locale={locale}>
      <LoginPage />
    </ConfigProvider>
  )
}
