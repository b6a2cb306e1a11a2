import type { Migration, MigrationProvider } from 'kysely'
import * as m0001 from './0001-foundation.js'
import * as m0002 from './0002-access.js'
import * as m0003 from './0003-organisation.js'
import * as m0004 from './0004-client-systems.js'
import * as m0005 from './0005-audit.js'
import * as m0006 from './0006-keys.js'
import * as m0007 from './0007-ca.js'
import * as m0008 from './0008-ra.js'
import * as m0009 from './0009-enrolment.js'
import * as m0010 from './0010-certificate-jobs.js'
import * as m0011 from './0011-certificate-queries.js'
import * as m0012 from './0012-tsa.js'

/** Versioned migrations, applied in name order. Never edit one that has shipped: add the next. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-foundation': m0001,
  '0002-access': m0002,
  '0003-organisation': m0003,
  '0004-client-systems': m0004,
  '0005-audit': m0005,
  '0006-keys': m0006,
  '0007-ca': m0007,
  '0008-ra': m0008,
  '0009-enrolment': m0009,
  '0010-certificate-jobs': m0010,
  '0011-certificate-queries': m0011,
  '0012-tsa': m0012,
}

export const migrationProvider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) }
