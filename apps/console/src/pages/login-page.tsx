import { useTranslation } from 'react-i18next'
import { AppFooter } from '../../../shared/src/app-footer'
import { LanguageSwitch } from '../../../shared/src/language-switch'
import { Brand } from '../components/brand'
import { LoginForm } from '../components/login-form'

export function LoginPage() {
  const { t } = useTranslation()
  return (
    <div className="page">
      <header className="topbar">
        <Brand />
        <LanguageSwitch />
      </header>
      <main className="page__main">
        <section className="login-card" aria-labelledby="login-heading">
          <h1 id="login-heading" className="login-card__heading">
            {t('login.heading')}
          </h1>
          <p className="login-card__audience">{t('login.audience')}</p>
          <LoginForm />
        </section>
      </main>
      <AppFooter />
    </div>
  )
}
