import { useTranslation } from 'react-i18next'
import { AppFooter } from '../../../shared/src/app-footer'
import { AppHeader } from '../components/app-header'
import { LoginForm } from '../components/login-form'

export function LoginPage() {
  const { t } = useTranslation()
  return (
    <div className="screen">
      <AppHeader />
      <main className="screen__main" aria-labelledby="login-heading">
        <h1 id="login-heading" className="login-heading">
          {t('login.heading')}
        </h1>
        <p className="login-intro">{t('login.intro')}</p>
        <LoginForm />
      </main>
      <AppFooter />
    </div>
  )
}
