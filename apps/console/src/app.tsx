import { ConfigProvider } from 'antd'
import enUS from 'antd/locale/en_US'
import zhCN from 'antd/locale/zh_CN'
import { useTranslation } from 'react-i18next'
import { toLanguage } from './i18n'
import { LoginPage } from './pages/login-page'

// Colours and fonts live in styles.css so plain elements and antd components share one definition.
const theme = {
  token: {
    colorPrimary: '#0b5d8f',
    fontFamily: 'var(--yq-font)',
    borderRadius: 6,
  },
}

export function App() {
  const { i18n } = useTranslation()
  const locale = toLanguage(i18n.language) === 'en' ? enUS : zhCN
  return (
    // antd would render 登录 as "登 录"; keep button text exactly as translated.
    <ConfigProvider locale={locale} theme={theme} button={{ autoInsertSpace: false }}>
      <LoginPage />
    </ConfigProvider>
  )
}
