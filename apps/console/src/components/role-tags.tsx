import { Tag } from 'antd'
import { useTranslation } from 'react-i18next'
import { ADMINISTRATOR_ROLES, ROLES } from '../api/types'

export function RoleTags({ roles }: { roles: readonly string[] }) {
  const { t } = useTranslation()
  return (
    <>
      {roles.map((role) => (
        <Tag key={role} color={ADMINISTRATOR_ROLES.includes(role) ? 'blue' : undefined}>
          {(ROLES as readonly string[]).includes(role) ? t(`roles.${role as (typeof ROLES)[number]}`) : role}
        </Tag>
      ))}
    </>
  )
}
