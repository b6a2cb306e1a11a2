import type { TimeStampAuthority, TimeSyncStatus, TrustedTime, TsaSettings, TsaTimeSource } from '@yiqian/core'
import { createTimeSynchronisation, type TimeSource, type TimeSyncEvent } from './time-synchronisation.js'

/** How often each process re-reads the sources and settings (another worker or instance may have changed them). */
const REFRESH_MS = 30_000
/** Until the settings are read: the defaults the TSA stores on first start. */
const INITIAL = { pollIntervalMs: 16_000, toleranceMs: 1_000, holdoverMs: 600_000 }

export interface TsaTimeLog {
  info(data: Record<string, unknown>, message: string): void
  warn(data: Record<string, unknown>, message: string): void
  error(data: Record<string, unknown>, message: string): void
}

export interface TsaTime {
  /** What the TSA stamps: synchronised SNTP time, or (demo without sources) the local clock, marked as such. */
  readonly trustedTime: TrustedTime
  /** Hooks for createTimeStampAuthority: a change made through this process reaches its synchroniser at once. */
  readonly hooks: {
    onSourcesChanged(sources: readonly TsaTimeSource[]): void
    onSettingsChanged(settings: TsaSettings): void
  }
  /** Reads sources and settings from the TSA, starts polling and the periodic re-read. */
  start(tsa: TimeStampAuthority): Promise<void>
  stop(): void
}

function configOf(settings: TsaSettings) {
  return {
    pollIntervalMs: settings.pollIntervalSeconds * 1000,
    toleranceMs: settings.toleranceMs,
    holdoverMs: settings.holdoverSeconds * 1000,
  }
}

const sameSources = (a: readonly TimeSource[], b: readonly TimeSource[]) =>
  a.length === b.length && a.every((s, i) => s.id === b[i]?.id && s.address === b[i]?.address)

/**
 * A local-clock TrustedTime for the demonstration start only, when no time source is configured: the status says so
 * in its one "source", and the accuracy claimed is a full second.
 */
function demoLocalClock(): TrustedTime {
  const status = (): TimeSyncStatus => ({
    state: 'synchronised',
    offsetMs: 0,
    jitterMs: 0,
    errorMs: 1000,
    lastSyncAt: new Date(),
    toleranceMs: INITIAL.toleranceMs,
    holdoverMs: INITIAL.holdoverMs,
    sources: [
      {
        id: 'demo-local-clock',
        address: '本机时钟（仅演示，未同步）/ local clock (demo only, not synchronised)',
        reachable: true,
        selected: true,
      },
    ],
  })
  return { read: () => ({ ok: true, time: new Date(), accuracyMs: 1000 }), status }
}

/**
 * The TSA's time in a serving process: an SNTP synchroniser fed from the sources and settings the TSA stores, its
 * events written to the audit trail (through the TSA) and the log — a loss of synchronisation is logged as an error,
 * the alert operators watch for.
 */
export function createTsaTime({ demo, log }: { demo: boolean; log: () => TsaTimeLog }): TsaTime {
  let sources: TimeSource[] = []
  let tsa: TimeStampAuthority | undefined
  let refresh: NodeJS.Timeout | undefined
  const record = (kind: 'synchronised' | 'state-changed' | 'large-step', data: Record<string, unknown>) => {
    tsa?.recordTimeEvent({ kind, at: new Date(), data }).catch((error: unknown) => {
      log().error({ err: error, kind }, 'TSA time event not audited')
    })
  }
  const onEvent = (event: TimeSyncEvent) => {
    switch (event.type) {
      case 'synchronised':
        record('synchronised', {
          offsetMs: event.status.offsetMs,
          jitterMs: event.status.jitterMs,
          errorMs: event.status.errorMs,
          sources: event.status.sources.filter((s) => s.selected).length,
        })
        return
      case 'state-changed': {
        const data = { from: event.from, to: event.to, problem: event.problem, offsetMs: event.status.offsetMs }
        record('state-changed', data)
        if (event.to === 'unsynchronised') {
          log().error(data, '时间戳服务停止签发：时间未同步 / TSA stopped issuing: time not synchronised')
        } else log().info(data, '时间已同步，时间戳服务恢复签发 / time synchronised; the TSA issues again')
        return
      }
      case 'large-step':
        record('large-step', {
          offsetMs: event.offsetMs,
          previousOffsetMs: event.previousOffsetMs,
          stepMs: event.stepMs,
        })
        log().warn({ ...event }, '时间跳变 / large time step')
        return
      case 'source-unreachable':
        log().warn({ ...event }, '时间源无应答 / time source not answering')
        return
    }
  }
  const sync = createTimeSynchronisation({ sources: [], ...INITIAL, onEvent })
  const local = demo ? demoLocalClock() : undefined
  const current = () => (local && sources.length === 0 ? local : sync.trustedTime)
  const trustedTime: TrustedTime = { read: () => current().read(), status: () => current().status() }

  const applySources = (list: readonly TsaTimeSource[]) => {
    const next = list.map((s) => ({ id: s.id, address: s.address }))
    // Setting the sources again would also re-admit one that refused us (kiss-o'-death): only on a real change.
    if (sameSources(next, sources)) return
    sources = next
    sync.setSources(next)
  }
  const reload = async () => {
    if (!tsa) return
    sync.setConfig(configOf(await tsa.settings()))
    applySources(await tsa.listSources())
  }

  return {
    trustedTime,
    hooks: {
      onSourcesChanged: applySources,
      onSettingsChanged: (settings) => sync.setConfig(configOf(settings)),
    },
    async start(authority) {
      tsa = authority
      await reload()
      sync.start()
      refresh = setInterval(() => {
        reload().catch((error: unknown) => log().error({ err: error }, 'TSA time sources not re-read'))
      }, REFRESH_MS)
      refresh.unref()
    },
    stop() {
      if (refresh) clearInterval(refresh)
      sync.stop()
    },
  }
}
