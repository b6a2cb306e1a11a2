import { Typography } from 'antd'
import type { ReactNode } from 'react'

export function PageHeader({ title, extra, children }: { title: string; extra?: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <div className="page-header__row">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {title}
        </Typography.Title>
        {extra}
      </div>
      {children && <Typography.Paragraph type="secondary">{children}</Typography.Paragraph>}
    </div>
  )
}
