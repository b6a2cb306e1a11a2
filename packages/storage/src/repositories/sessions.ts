import type { Session, SessionRepository, SessionStage } from '@yiqian/core'
import type { Kysely, Selectable } from 'kysely'
import type { Database, SessionsTable } from '../schema.js'

function toDomain(row: Selectable<SessionsTable>): Session {
  return {
    idHash: row.id_hash,
    accountId: row.account_id,
    csrfToken: row.csrf_token,
    stage: row.stage as SessionStage,
    source: row.source,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at),
    lastSeenAt: new Date(row.last_seen_at),
    expiresAt: new Date(row.expires_at),
  }
}

export function sessionRepository(db: Kysely<Database>): SessionRepository {
  return {
    async insert(session) {
      await db
        .insertInto('sessions')
        .values({
          id_hash: session.idHash,
          account_id: session.accountId,
          csrf_token: session.csrfToken,
          stage: session.stage,
          source: session.source,
          user_agent: session.userAgent,
          created_at: session.createdAt.toISOString(),
          last_seen_at: session.lastSeenAt.toISOString(),
          expires_at: session.expiresAt.toISOString(),
        })
        .execute()
    },
    async find(idHash) {
      const row = await db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst()
      return row && toDomain(row)
    },
    async touch(idHash, lastSeenAt) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: lastSeenAt.toISOString() })
        .where('id_hash', '=', idHash)
        .execute()
    },
    async setStage(idHash, stage) {
      await db.updateTable('sessions').set({ stage }).where('id_hash', '=', idHash).execute()
    },
    async delete(idHash) {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute()
    },
    async deleteForAccount(accountId) {
      const result = await db.deleteFrom('sessions').where('account_id', '=', accountId).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
