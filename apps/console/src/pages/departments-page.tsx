import { useMutation, useQueryClient } from '@tanstack/react-query'
import { App, Button, Card, Descriptions, Empty, Form, Input, Modal, Select, Space, Tag, Tree, TreeSelect } from 'antd'
import { type ReactNode, useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Translated } from '../../../shared/src/translated'
import { showFieldProblems } from '../api/form-problems'
import { api } from '../api/http'
import type { Department, DepartmentNode } from '../api/types'
import {
  codePattern,
  InstitutionPicker,
  treeOptions,
  useChosenInstitution,
  useDepartmentTree,
} from '../components/organisation'
import { PageHeader } from '../components/page-header'
import { ProblemAlert } from '../components/problem-alert'
import { useSession } from '../session/session'

interface DepartmentFields {
  code: string
  name: string
  parentId?: string | null
  status?: Department['status']
}

type Editing = { mode: 'create'; parentId?: string } | { mode: 'edit'; department: Department }

function flatten(nodes: readonly DepartmentNode[], into = new Map<string, DepartmentNode>()) {
  for (const node of nodes) {
    into.set(node.id, node)
    flatten(node.children, into)
  }
  return into
}

function DepartmentDialog({
  editing,
  institutionId,
  tree,
  onClose,
  onSaved,
}: {
  editing: Editing | null
  institutionId: string
  tree: readonly DepartmentNode[]
  onClose(): void
  onSaved(department: Department): void
}) {
  const { t } = useTranslation()
  const [form] = Form.useForm<DepartmentFields>()
  const queryClient = useQueryClient()
  const save = useMutation({
    mutationFn: (values: DepartmentFields) => {
      if (editing?.mode === 'edit') {
        return api<Department>(`/api/v1/org/departments/${encodeURIComponent(editing.department.id)}`, {
          method: 'PATCH',
          body: { ...values, parentId: values.parentId ?? null, version: editing.department.version },
        })
      }
      return api<Department>('/api/v1/org/departments', {
        method: 'POST',
        body: {
          institutionId,
          code: values.code,
          name: values.name,
          ...(values.parentId && { parentId: values.parentId }),
        },
      })
    },
    onSuccess: (department) => {
      void queryClient.invalidateQueries({ queryKey: ['departments'] })
      onSaved(department)
    },
    onError: (error) => showFieldProblems(form, error),
  })
  const initial: DepartmentFields | undefined =
    editing?.mode === 'edit'
      ? { ...editing.department }
      : editing
        ? { code: '', name: '', parentId: editing.parentId }
        : undefined
  return (
    <Modal
      open={editing !== null}
      title={t(editing?.mode === 'edit' ? 'org.editDepartment' : 'org.createDepartment')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={save.isPending}
      okButtonProps={{ 'data-testid': 'department-submit' }}
      destroyOnHidden
    >
      <Form<DepartmentFields>
        form={form}
        layout="vertical"
        requiredMark={false}
        preserve={false}
        initialValues={initial}
        onFinish={(values) => save.mutate(values)}
      >
        <Form.Item
          name="code"
          label={t('org.code')}
          extra={t('org.codeRule')}
          rules={[{ required: true, pattern: codePattern, message: <Translated k="org.codeRule" /> }]}
        >
          <Input maxLength={32} data-testid="department-code" />
        </Form.Item>
        <Form.Item
          name="name"
          label={t('org.name')}
          rules={[{ required: true, whitespace: true, message: <Translated k="common.required" /> }]}
        >
          <Input maxLength={128} data-testid="department-name" />
        </Form.Item>
        <Form.Item name="parentId" label={t('org.parent')} extra={t('org.parentHint')}>
          <TreeSelect
            allowClear
            treeDefaultExpandAll
            treeData={treeOptions(tree, editing?.mode === 'edit' ? editing.department.id : undefined)}
          />
        </Form.Item>
        {editing?.mode === 'edit' && (
          <Form.Item name="status" label={t('org.status')}>
            <Select
              options={(['active', 'inactive'] as const).map((status) => ({
                value: status,
                label: t(`org.departmentStatuses.${status}`),
              }))}
            />
          </Form.Item>
        )}
        <ProblemAlert error={save.error} />
      </Form>
    </Modal>
  )
}

export function DepartmentsPage() {
  const { t, i18n } = useTranslation()
  const { can } = useSession()
  const { message } = App.useApp()
  const [institutionId, setInstitutionId] = useChosenInstitution()
  const tree = useDepartmentTree(institutionId)
  const [selected, setSelected] = useState<string>()
  const [editing, setEditing] = useState<Editing | null>(null)
  const byId = useMemo(() => flatten(tree.data ?? []), [tree.data])
  const department = selected ? byId.get(selected) : undefined
  const writable = can('org.write')

  type Node = { key: string; title: ReactNode; children: Node[] }
  const nodes = (list: readonly DepartmentNode[]): Node[] =>
    list.map((d) => ({
      key: d.id,
      title: (
        <span data-testid={`department-node-${d.code}`}>
          {d.name} <span className="muted">({d.code})</span>
          {d.status !== 'active' && <Tag className="tag-gap">{t('org.departmentStatuses.inactive')}</Tag>}
        </span>
      ),
      children: nodes(d.children),
    }))

  return (
    <>
      <PageHeader
        title={t('nav.departments')}
        extra={
          writable &&
          institutionId && (
            <Button
              type="primary"
              data-testid="department-create"
              onClick={() => setEditing({ mode: 'create', parentId: selected })}
            >
              {t('org.createDepartment')}
            </Button>
          )
        }
      >
        {t('org.departmentsIntro')}
      </PageHeader>
      <Space direction="vertical" size="middle" className="full-width">
        <InstitutionPicker value={institutionId} onChange={setInstitutionId} />
        <ProblemAlert error={tree.error} />
        <div className="split">
          <Card className="split__side" loading={tree.isFetching && !tree.data} data-testid="department-tree">
            {tree.data && tree.data.length > 0 ? (
              <Tree<Node>
                blockNode
                defaultExpandAll
                key={`${institutionId}-${byId.size}`}
                treeData={nodes(tree.data)}
                selectedKeys={selected ? [selected] : []}
                onSelect={(keys) => setSelected(keys[0] as string | undefined)}
              />
            ) : (
              <Empty description={t(institutionId ? 'org.noDepartments' : 'org.noInstitution')} />
            )}
          </Card>
          <Card className="split__main" title={department ? department.name : t('org.pickDepartment')}>
            {department && (
              <>
                <Descriptions column={1} size="small">
                  <Descriptions.Item label={t('org.code')}>{department.code}</Descriptions.Item>
                  <Descriptions.Item label={t('org.parent')}>
                    {department.parentId ? (byId.get(department.parentId)?.name ?? department.parentId) : '—'}
                  </Descriptions.Item>
                  <Descriptions.Item label={t('org.status')}>
                    {t(`org.departmentStatuses.${department.status}`)}
                  </Descriptions.Item>
                  <Descriptions.Item label={t('org.subDepartments')}>{department.children.length}</Descriptions.Item>
                  <Descriptions.Item label={t('org.updatedAt')}>
                    {new Date(department.updatedAt).toLocaleString(i18n.language)}
                  </Descriptions.Item>
                </Descriptions>
                {writable && (
                  <Space>
                    <Button onClick={() => setEditing({ mode: 'edit', department })} data-testid="department-edit">
                      {t('common.edit')}
                    </Button>
                    <Button onClick={() => setEditing({ mode: 'create', parentId: department.id })}>
                      {t('org.createChild')}
                    </Button>
                  </Space>
                )}
              </>
            )}
          </Card>
        </div>
      </Space>
      {institutionId && (
        <DepartmentDialog
          editing={editing}
          institutionId={institutionId}
          tree={tree.data ?? []}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null)
            setSelected(saved.id)
            void message.success(t('common.saved'))
          }}
        />
      )}
    </>
  )
}
