import { Result, Spin } from 'antd'
import { lazy, type ReactNode, Suspense } from 'react'
import { useTranslation } from 'react-i18next'
import { createBrowserRouter, Navigate, useLocation } from 'react-router'
import { ProblemAlert } from './components/problem-alert'
import { navItems } from './layout/nav'
import { LoginPage } from './pages/login-page'
import { useSession } from './session/session'

// Pages load on first visit: the sign-in page (what most visits start with) stays small.
const AppLayout = lazy(() => import('./layout/app-layout').then((m) => ({ default: m.AppLayout })))
const FirstLoginPage = lazy(() => import('./pages/first-login-page').then((m) => ({ default: m.FirstLoginPage })))
const HomePage = lazy(() => import('./pages/home-page').then((m) => ({ default: m.HomePage })))
const AccountsPage = lazy(() => import('./pages/accounts-page').then((m) => ({ default: m.AccountsPage })))
const SecurityPolicyPage = lazy(() =>
  import('./pages/security-policy-page').then((m) => ({ default: m.SecurityPolicyPage })),
)
const SystemSettingsPage = lazy(() =>
  import('./pages/system-settings-page').then((m) => ({ default: m.SystemSettingsPage })),
)
const DepartmentsPage = lazy(() => import('./pages/departments-page').then((m) => ({ default: m.DepartmentsPage })))
const StaffPage = lazy(() => import('./pages/staff-page').then((m) => ({ default: m.StaffPage })))
const ImportPage = lazy(() => import('./pages/import-page').then((m) => ({ default: m.ImportPage })))
const ClientSystemsPage = lazy(() =>
  import('./pages/client-systems-page').then((m) => ({ default: m.ClientSystemsPage })),
)
const RaApplicationsPage = lazy(() =>
  import('./pages/ra-applications-page').then((m) => ({ default: m.RaApplicationsPage })),
)
const CertificatesPage = lazy(() => import('./pages/certificates-page').then((m) => ({ default: m.CertificatesPage })))
const CertificateDetailPage = lazy(() =>
  import('./pages/certificate-detail-page').then((m) => ({ default: m.CertificateDetailPage })),
)
const CaPage = lazy(() => import('./pages/ca-page').then((m) => ({ default: m.CaPage })))
const TsaPage = lazy(() => import('./pages/tsa-page').then((m) => ({ default: m.TsaPage })))
const ReportsPage = lazy(() => import('./pages/reports-page').then((m) => ({ default: m.ReportsPage })))
const ReminderPolicyPage = lazy(() =>
  import('./pages/reminder-policy-page').then((m) => ({ default: m.ReminderPolicyPage })),
)
const AuditPage = lazy(() => import('./pages/audit-page').then((m) => ({ default: m.AuditPage })))

function Loading() {
  return (
    <div className="center-fill">
      <Spin size="large" />
    </div>
  )
}

/** Where a session belongs: nowhere (sign in), the first-login steps, or the console. */
function SessionGate({ want, children }: { want: 'signed-out' | 'first-login' | 'active'; children: ReactNode }) {
  const { session, loading, error, signedOut } = useSession()
  const location = useLocation()
  if (loading) return <Loading />
  if (error) return <ProblemAlert error={error} />
  const at = !session ? 'signed-out' : session.stage === 'active' ? 'active' : 'first-login'
  if (at === want) return <Suspense fallback={<Loading />}>{children}</Suspense>
  if (at === 'signed-out') {
    return <Navigate to="/login" replace state={signedOut ? undefined : { from: location.pathname }} />
  }
  if (at === 'first-login') return <Navigate to="/first-login" replace />
  const from = (location.state as { from?: string } | null)?.from
  return <Navigate to={from && from !== '/login' ? from : '/'} replace />
}

/** A page shown only with its permission; the menu hides it too, this covers typed-in addresses. */
function Guarded({ permission, children }: { permission: string; children: ReactNode }) {
  const { t } = useTranslation()
  const { can } = useSession()
  if (!can(permission)) return <Result status="403" title={t('nav.forbidden')} />
  return <Suspense fallback={<Loading />}>{children}</Suspense>
}

const pages: Record<string, ReactNode> = {
  accounts: <AccountsPage />,
  'policies/security': <SecurityPolicyPage />,
  'system/settings': <SystemSettingsPage />,
  'org/departments': <DepartmentsPage />,
  'org/staff': <StaffPage />,
  'org/import': <ImportPage />,
  'client-systems': <ClientSystemsPage />,
  audit: <AuditPage />,
  'ra/applications': <RaApplicationsPage />,
  certificates: <CertificatesPage />,
  ca: <CaPage />,
  tsa: <TsaPage />,
  reports: <ReportsPage />,
  reminders: <ReminderPolicyPage />,
}

export const router = createBrowserRouter(
  [
    {
      path: '/login',
      element: (
        <SessionGate want="signed-out">
          <LoginPage />
        </SessionGate>
      ),
    },
    {
      path: '/first-login',
      element: (
        <SessionGate want="first-login">
          <FirstLoginPage />
        </SessionGate>
      ),
    },
    {
      path: '/',
      element: (
        <SessionGate want="active">
          <AppLayout />
        </SessionGate>
      ),
      children: [
        {
          index: true,
          element: (
            <Suspense fallback={<Loading />}>
              <HomePage />
            </Suspense>
          ),
        },
        ...navItems.map((item) => ({
          path: item.path,
          element: <Guarded permission={item.permission}>{pages[item.path]}</Guarded>,
        })),
        {
          path: 'certificates/:id',
          element: (
            <Guarded permission="certificates.read">
              <CertificateDetailPage />
            </Guarded>
          ),
        },
      ],
    },
    { path: '*', element: <Navigate to="/" replace /> },
  ],
  { basename: '/console' },
)
