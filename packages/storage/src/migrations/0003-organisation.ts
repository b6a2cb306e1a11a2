import type { Kysely } from 'kysely'

// Institutions, the department tree of each, and staff. Phone and ID-card numbers are stored only sealed (SM4-GCM,
// bound to table, column and row) next to an HMAC blind index for exact look-up.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('institutions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('institutions.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('departments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('institution_id', 'text', (c) => c.notNull().references('institutions.id'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('departments.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addUniqueConstraint('departments_institution_code', ['institution_id', 'code'])
    .execute()
  await db.schema.createIndex('departments_parent').on('departments').column('parent_id').execute()

  await db.schema
    .createTable('staff')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('institution_id', 'text', (c) => c.notNull().references('institutions.id'))
    .addColumn('employee_number', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('phone_sealed', 'text')
    .addColumn('phone_index', 'text')
    .addColumn('id_type', 'text')
    .addColumn('id_number_sealed', 'text')
    .addColumn('id_number_index', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addUniqueConstraint('staff_institution_employee_number', ['institution_id', 'employee_number'])
    .execute()
  await db.schema.createIndex('staff_phone_index').on('staff').column('phone_index').execute()
  await db.schema.createIndex('staff_id_number_index').on('staff').column('id_number_index').execute()
  await db.schema.createIndex('staff_name').on('staff').column('name').execute()

  // Position 0 is the primary department.
  await db.schema
    .createTable('staff_departments')
    .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id').onDelete('cascade'))
    .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('staff_departments_pk', ['staff_id', 'department_id'])
    .execute()
  await db.schema.createIndex('staff_departments_department').on('staff_departments').column('department_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('staff_departments').execute()
  await db.schema.dropTable('staff').execute()
  await db.schema.dropTable('departments').execute()
  await db.schema.dropTable('institutions').execute()
}
