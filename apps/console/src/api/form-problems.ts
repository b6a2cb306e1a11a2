import type { FormInstance } from 'antd'
import { ApiError } from './http'

/**
 * Puts the server's field errors on the matching Form.Item. The server names fields by where they were sent
 * (`body.value.lockoutMinutes`); `prefix` is the part of that path the form does not have (`body.value.`).
 * Returns the errors that matched no field, so the caller can show them with the problem.
 */
export function showFieldProblems(form: FormInstance, error: unknown, prefix = 'body.'): boolean {
  if (!(error instanceof ApiError) || error.errors.length === 0) return false
  const known = new Set(Object.keys(form.getFieldsValue(true) as Record<string, unknown>))
  const byField = new Map<string, string[]>()
  for (const { field, message } of error.errors) {
    if (!field.startsWith(prefix)) continue
    const name = field.slice(prefix.length).split('.')[0]
    if (!name || !known.has(name)) continue
    byField.set(name, [...(byField.get(name) ?? []), message])
  }
  form.setFields([...byField].map(([name, errors]) => ({ name, errors })))
  return byField.size > 0
}
