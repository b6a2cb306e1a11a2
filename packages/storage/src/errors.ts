/** The one place that knows how each driver reports a unique-key violation. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null
  return (
    e?.code === '23505' /* PostgreSQL */ ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  )
}
