import type { Clock } from '@yiqian/core'

/**
 * Per-client-system request budget: a token bucket per app id holding at most `perMinute` tokens and refilled
 * continuously at `perMinute / 60` per second. In-process: with several instances behind a load balancer each
 * instance keeps its own buckets, so the effective limit is per instance.
 */
export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, otherwise the whole seconds to wait before the next token. */
  take(key: string, perMinute: number): number
}

/** Buckets idle long enough to be full again are dropped, so the map cannot grow with old app ids. */
const MAX_BUCKETS = 10_000

export function createRateLimiter(clock: Clock): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(key, perMinute) {
      const now = clock.now().getTime()
      const ratePerMs = perMinute / 60_000
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: now }
      bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.at) * ratePerMs)
      bucket.at = now
      buckets.delete(key)
      buckets.set(key, bucket)
      if (buckets.size > MAX_BUCKETS) {
        const oldest = buckets.keys().next().value
        if (oldest !== undefined) buckets.delete(oldest)
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000))
    },
  }
}
