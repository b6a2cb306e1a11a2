/** The three administrators of MLPS level 3 (三员): separate people with separate powers. */
export type AdministratorRole = 'sysadmin' | 'secadmin' | 'auditor'

export interface Administrator {
  readonly id: string
  readonly username: string
  readonly displayName: string
  readonly roles: readonly AdministratorRole[]
  readonly passwordHash: string
  /** The bootstrap credential must be replaced at first sign-in. */
  readonly mustChangePassword: boolean
  readonly createdAt: Date
  /** Optimistic-concurrency version, incremented by every save. */
  readonly version: number
}

export interface AdministratorRepository {
  count(): Promise<number>
  findByUsername(username: string): Promise<Administrator | undefined>
  getOrThrow(id: string): Promise<Administrator>
  /** Inserts; a taken username fails with ADMINISTRATOR_EXISTS. */
  insert(admin: Administrator): Promise<void>
  /** Saves `admin` if the stored version is `admin.version - 1`; otherwise VERSION_CONFLICT. */
  update(admin: Administrator): Promise<void>
}
