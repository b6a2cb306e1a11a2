import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../testing.js'

describe('certificate and CA routes in the OpenAPI document', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => t?.close())

  it('documents every route with its query and body schemas', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    const paths = response.json().paths as Record<string, Record<string, { parameters?: { name: string }[] }>>
    for (const path of [
      '/api/v1/certificates',
      '/api/v1/certificates/status',
      '/api/v1/certificates/{id}',
      '/api/v1/certificates/{id}/download',
      '/api/v1/certificates/{id}/revocation',
      '/api/v1/certificates/{id}/suspension',
      '/api/v1/certificates/{id}/resumption',
      '/api/v1/reports/certificates',
      '/api/v1/ca',
      '/api/v1/ca/hierarchies',
      '/api/v1/ca/{id}/ocsp-responder',
      '/api/v1/ca/imports',
    ]) {
      expect(paths[path], path).toBeDefined()
    }
    const report = paths['/api/v1/reports/certificates']?.get?.parameters?.map((p) => p.name)
    expect(report).toEqual(expect.arrayContaining(['groupBy', 'from', 'to', 'format']))
  })
})
