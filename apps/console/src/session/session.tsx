import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query'
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react'
import { api, installSessionHooks, isApiError, setCsrfToken } from '../api/http'
import type { Session } from '../api/types'

export const sessionKey = ['session'] as const

/** The current session, or null when signed out (the server answers 401). */
async function fetchSession(): Promise<Session | null> {
  try {
    return await api<Session>('/api/v1/auth/session', { sessionAware: false })
  } catch (error) {
    if (isApiError(error) && error.status === 401) return null
    throw error
  }
}

/** Stores a session answer (sign-in, restore) as the one source of who is signed in; keeps the CSRF token. */
export function rememberSession(queryClient: QueryClient, session: Session | null): void {
  setCsrfToken(session?.csrfToken)
  queryClient.setQueryData(sessionKey, session)
}

/** Forgets the session and everything fetched under it. */
export function forgetSession(queryClient: QueryClient): void {
  setCsrfToken(undefined)
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== sessionKey[0] })
  queryClient.setQueryData(sessionKey, null)
}

interface SessionState {
  session: Session | null | undefined
  loading: boolean
  error: unknown
  /** Set when the server ended the session (idle or absolute timeout, sign-out elsewhere). */
  ended: boolean
  /** Set by an explicit sign-out: the next sign-in starts at the home page, not where the user left. */
  signedOut: boolean
  /** Clears `ended` and `signedOut` once someone signs in again. */
  clearEnded(): void
  signOut(): Promise<void>
  can(permission: string): boolean
}

const SessionContext = createContext<SessionState | null>(null)

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient()
  const [ended, setEnded] = useState(false)
  const [signedOut, setSignedOut] = useState(false)
  const query = useQuery({ queryKey: sessionKey, queryFn: fetchSession, staleTime: Number.POSITIVE_INFINITY, retry: 1 })

  useEffect(() => {
    if (query.data !== undefined) setCsrfToken(query.data?.csrfToken)
  }, [query.data])

  useEffect(() => {
    installSessionHooks({
      onSessionEnded() {
        if (queryClient.getQueryData(sessionKey)) setEnded(true)
        forgetSession(queryClient)
      },
      onStageRequired() {
        void queryClient.invalidateQueries({ queryKey: sessionKey })
      },
    })
  }, [queryClient])

  const session = query.data
  const value: SessionState = {
    session,
    loading: query.isPending,
    error: query.error,
    ended,
    signedOut,
    clearEnded: () => {
      setEnded(false)
      setSignedOut(false)
    },
    async signOut() {
      setSignedOut(true)
      try {
        await api<void>('/api/v1/auth/logout', { method: 'POST', sessionAware: false })
      } catch {
        // Signed out either way: a session the server already ended is just as gone.
      } finally {
        forgetSession(queryClient)
      }
    },
    can: (permission) => session?.stage === 'active' && session.permissions.includes(permission),
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession(): SessionState {
  const state = useContext(SessionContext)
  if (!state) throw new Error('useSession needs a SessionProvider')
  return state
}
