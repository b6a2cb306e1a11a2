import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

const cwd = mkdtempSync(join(tmpdir(), 'yiqian-config-'))

function problemsOf(env: NodeJS.ProcessEnv): Array<{ key: string; message: string }> {
  try {
    loadConfig(env, cwd)
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems]
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  it('has safe defaults: ./data, port 8080, SQLite, 1 MiB bodies', () => {
    const config = loadConfig({}, cwd)
    expect(config).toMatchObject({ dataDir: join(cwd, 'data'), port: 8080, logLevel: 'info', bodyLimit: 1024 * 1024 })
    expect(config.databaseUrl).toBeUndefined()
  })

  it('reads the environment', () => {
    const config = loadConfig(
      {
        YIQIAN_DATA: 'elsewhere',
        YIQIAN_PORT: '9090',
        DATABASE_URL: 'postgres://u:p@db/yiqian',
        YIQIAN_LOG_LEVEL: 'warn',
      },
      cwd,
    )
    expect(config).toMatchObject({
      dataDir: join(cwd, 'elsewhere'),
      port: 9090,
      databaseUrl: 'postgres://u:p@db/yiqian',
      logLevel: 'warn',
    })
  })

  it.each([
    ['YIQIAN_PORT', 'abc'],
    ['YIQIAN_PORT', '70000'],
    ['YIQIAN_PORT', '80.5'],
    ['DATABASE_URL', 'mysql://root@localhost/x'],
    ['YIQIAN_LOG_LEVEL', 'loud'],
    ['YIQIAN_BODY_LIMIT', '10'],
    ['YIQIAN_SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['YIQIAN_METRICS_TOKEN', 'short'],
  ])('names %s when its value %j is bad', (variable, value) => {
    const problems = problemsOf({ [variable]: value })
    expect(problems).toHaveLength(1)
    expect(problems[0]?.key).toBe(variable)
  })

  it('does not echo secrets in the message', () => {
    const [p] = problemsOf({ DATABASE_URL: 'mysql://root:TopSecret@db/x' })
    expect(p?.message).not.toContain('TopSecret')
  })

  it('reports every bad key at once', () => {
    expect(
      problemsOf({ YIQIAN_PORT: 'x', YIQIAN_LOG_LEVEL: 'y' })
        .map((p) => p.key)
        .sort(),
    ).toEqual(['YIQIAN_LOG_LEVEL', 'YIQIAN_PORT'])
  })

  it('reads a JSON file, lets the environment override it, and names a bad key in it with the file', () => {
    const file = join(cwd, 'custom.json')
    writeFileSync(file, JSON.stringify({ port: 7000, logLevel: 'debug' }))
    expect(loadConfig({ YIQIAN_CONFIG: file }, cwd)).toMatchObject({ port: 7000, logLevel: 'debug' })
    expect(loadConfig({ YIQIAN_CONFIG: file, YIQIAN_PORT: '7001' }, cwd).port).toBe(7001)

    writeFileSync(file, JSON.stringify({ port: 'seventy', colour: 'blue' }))
    const keys = problemsOf({ YIQIAN_CONFIG: file }).map((p) => p.key)
    expect(keys).toEqual(expect.arrayContaining([`port (in ${file})`, `(root) (in ${file})`]))

    writeFileSync(file, '{ not json')
    expect(problemsOf({ YIQIAN_CONFIG: file })[0]?.key).toBe('YIQIAN_CONFIG')
    expect(problemsOf({ YIQIAN_CONFIG: join(cwd, 'missing.json') })[0]?.key).toBe('YIQIAN_CONFIG')
  })

  it('picks up yiqian.config.json in the data folder', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'yiqian-data-'))
    writeFileSync(join(dataDir, 'yiqian.config.json'), JSON.stringify({ bodyLimit: 4096 }))
    expect(loadConfig({ YIQIAN_DATA: dataDir }, cwd).bodyLimit).toBe(4096)
  })
})
