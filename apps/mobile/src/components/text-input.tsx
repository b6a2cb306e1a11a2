import type { ChangeEvent, InputHTMLAttributes } from 'react'

type TextInputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'> & {
  value?: string
  onChange?: (value: string) => void
}

/**
 * A native input for antd-mobile's Form.Item. antd-mobile's own Input puts `data-*` attributes on its wrapper
 * `div`, which browser tests cannot fill; here the test id and the label's `id` land on the `<input>` itself.
 */
export function TextInput({ value, onChange, className, ...rest }: TextInputProps) {
  return (
    <input
      {...rest}
      className={className ? `text-input ${className}` : 'text-input'}
      value={value ?? ''}
      onChange={(event: ChangeEvent<HTMLInputElement>) => onChange?.(event.target.value)}
    />
  )
}
