/** An RFC 9457 problem as the Yiqian API sends it. */
export interface ProblemDetails {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: string
  readonly detail?: string
  readonly instance?: string
  readonly requestId?: string
  readonly errors?: ReadonlyArray<{ readonly field: string; readonly message: string }>
}

/** Thrown for every non-2xx answer; `problem` holds what the server said, `code` is stable for programs. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError'
  constructor(readonly problem: ProblemDetails) {
    super(`${problem.status} ${problem.code}: ${problem.detail ?? problem.title}`)
  }
  get code(): string {
    return this.problem.code
  }
}
