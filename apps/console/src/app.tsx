import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { App as AntApp, ConfigProvider } from 'antd'
import enUS from 'antd/locale/en_US'
import zhCN from 'antd/locale/zh_CN'
import { useTranslation } from 'react-i18next'
import { RouterProvider } from 'react-router'
import { isApiError } from './api/http'
import { toLanguage } from './i18n'
import { router } from './router'
import { SessionProvider } from './session/session'

// Colours and fonts live in styles.css so plain elements and antd components share one definition.
const theme = {
  token: {
    colorPrimary: '#0b5d8f',
    fontFamily: 'var(--yq-font)',
    borderRadius: 6,
  },
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A problem answer (4xx) will not change on retry; a network failure or 5xx may.
      retry: (count, error) => count < 2 && !(isApiError(error) && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
})

export function App() {
  const { i18n } = useTranslation()
  const locale = toLanguage(i18n.language) === 'en' ? enUS : zhCN
  return (
    // antd would render 登录 as "登 录"; keep button text exactly as translated.
    <ConfigProvider locale={locale} theme={theme} button={{ autoInsertSpace: false }}>
      <AntApp>
        <QueryClientProvider client={queryClient}>
          <SessionProvider>
            <RouterProvider router={router} />
          </SessionProvider>
        </QueryClientProvider>
      </AntApp>
    </ConfigProvider>
  )
}
