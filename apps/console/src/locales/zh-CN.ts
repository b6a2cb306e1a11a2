/** Simplified Chinese is the primary language; `en.ts` must mirror these keys exactly (see `Messages`). */
export const zhCN = {
  product: {
    name: '医签 Yiqian',
    area: '管理控制台',
    versionLabel: '版本',
  },
  document: {
    title: '医签 Yiqian · 管理控制台',
  },
  language: {
    'zh-CN': '中文',
    en: 'English',
    switch: '切换语言',
  },
  login: {
    heading: '管理员登录',
    audience: '供证书业务员及系统、安全、审计管理员使用。',
    username: '用户名',
    usernamePlaceholder: '请输入用户名',
    usernameRequired: '请输入用户名',
    password: '密码',
    passwordPlaceholder: '请输入密码',
    passwordRequired: '请输入密码',
    secondFactor: '管理员登录还需要第二因素验证（如动态口令或数字证书），该步骤将在后续版本中提供。',
    submit: '登录',
  },
  loginError: {
    title: '登录失败',
    status: '服务器返回状态码 {{status}}。',
    network: '无法连接到服务器，或服务器返回了无法识别的响应。请检查网络后重试。',
    unsupported: '服务器已响应，但当前版本尚不支持登录后的功能。',
  },
}

export type Messages = typeof zhCN
