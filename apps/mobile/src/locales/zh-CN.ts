/** Simplified Chinese is the primary language; `en.ts` must mirror these keys exactly (see `Messages`). */
export const zhCN = {
  product: {
    name: '医签 Yiqian',
    area: '移动签名',
    versionLabel: '版本',
  },
  document: {
    title: '医签 Yiqian · 移动签名',
  },
  language: {
    'zh-CN': '中文',
    en: 'English',
    switch: '切换语言',
  },
  login: {
    heading: '员工登录',
    intro: '请使用医院工号和密码登录。',
    username: '工号',
    usernamePlaceholder: '请输入工号',
    usernameRequired: '请输入工号',
    password: '密码',
    passwordPlaceholder: '请输入密码',
    passwordRequired: '请输入密码',
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
