import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Button, Form, Input, Modal, Select, Space } from 'antd'
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { DepartmentNode, Institution } from '../api/types'
import { useSession } from '../session/session'
import { ProblemAlert } from './problem-alert'

export const institutionsKey = ['institutions'] as const
export const codePattern = /^[A-Za-z0-9._-]{1,32}$/

export function useInstitutions() {
  return useQuery({ queryKey: institutionsKey, queryFn: () => api<Institution[]>('/api/v1/org/institutions') })
}

export function useDepartmentTree(institutionId: string | undefined) {
  return useQuery({
    queryKey: ['departments', 'tree', institutionId],
    queryFn: () => api<DepartmentNode[]>('/api/v1/org/departments/tree', { query: { institutionId } }),
    enabled: institutionId !== undefined,
  })
}

export interface TreeOption {
  value: string
  title: string
  key: string
  disabled?: boolean
  children: TreeOption[]
}

/** Department nodes as TreeSelect options; `exclude` (a department being moved) and its subtree are left out. */
export function treeOptions(nodes: readonly DepartmentNode[], exclude?: string): TreeOption[] {
  return nodes
    .filter((node) => node.id !== exclude)
    .map((node) => ({
      value: node.id,
      key: node.id,
      title: `${node.name} (${node.code})`,
      disabled: node.status !== 'active',
      children: treeOptions(node.children, exclude),
    }))
}

export function departmentNames(
  nodes: readonly DepartmentNode[],
  into = new Map<string, string>(),
): Map<string, string> {
  for (const node of nodes) {
    into.set(node.id, node.name)
    departmentNames(node.children, into)
  }
  return into
}

function CreateInstitutionDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean
  onClose(): void
  onCreated(i: Institution): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<{ code: string; name: string }>()
  const queryClient = useQueryClient()
  const create = useMutation({
    mutationFn: (body: { code: string; name: string }) =>
      api<Institution>('/api/v1/org/institutions', { method: 'POST', body }),
    onSuccess: (institution) => {
      void queryClient.invalidateQueries({ queryKey: institutionsKey })
      form.resetFields()
      onCreated(institution)
    },
    onError: (error) => showFieldProblems(form, error),
  })
  return (
    <Modal
      open={open}
      title={t('org.createInstitution')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={create.isPending}
      okButtonProps={{ 'data-testid': 'institution-submit' }}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" requiredMark={false} onFinish={(values) => create.mutate(values)}>
        <Form.Item
          name="code"
          label={t('org.code')}
          extra={t('org.codeRule')}
          rules={[{ required: true, pattern: codePattern, message: <Translated k="org.codeRule" /> }]}
        >
          <Input maxLength={32} data-testid="institution-code" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t('org.name')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={128} data-testid="institution-name" />
        </Form.Item>
        <ProblemAlert error={create.error} />
      </Form>
    </Modal>
  )
}

/** Picks the institution the organisation pages work in; the first one by default, or a new one. */
export function InstitutionPicker({ value, onChange }: { value: string | undefined; onChange(id: string): void }) {
  const { t } = useTranslation()
  const { can } = useSession()
  const institutions = useInstitutions()
  const [creating, setCreating] = useState(false)
  const first = institutions.data?.[0]?.id
  useEffect(() => {
    if (value === undefined && first) onChange(first)
  }, [value, first, onChange])
  return (
    <Space wrap>
      <span>{t('org.institution')}</span>
      <Select
        style={{ minWidth: 240 }}
        value={value}
        loading={institutions.isPending}
        placeholder={t('org.noInstitution')}
        onChange={onChange}
        options={(institutions.data ?? []).map((i) => ({ value: i.id, label: `${i.name} (${i.code})` }))}
        data-testid="institution-select"
      />
      {can('org.write') && (
        <Button onClick={() => setCreating(true)} data-testid="institution-create">
          {t('org.createInstitution')}
        </Button>
      )}
      <ProblemAlert error={institutions.error} />
      <CreateInstitutionDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(institution) => {
          setCreating(false)
          onChange(institution.id)
        }}
      />
    </Space>
  )
}

/** The institution chosen on one organisation page is kept for the others during this visit. */
let rememberedInstitution: string | undefined
export function useChosenInstitution(): [string | undefined, (id: string) => void] {
  const [id, setId] = useState(rememberedInstitution)
  const choose = useCallback((next: string) => {
    rememberedInstitution = next
    setId(next)
  }, [])
  return [id, choose]
}
