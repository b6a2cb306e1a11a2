import type { Messages } from './zh-CN'

export const en: Messages = {
  product: {
    name: '医签 Yiqian',
    area: 'Management console',
    versionLabel: 'Version',
  },
  document: {
    title: 'Yiqian · Management console',
  },
  language: {
    'zh-CN': '中文',
    en: 'English',
    switch: 'Switch language',
  },
  login: {
    heading: 'Administrator sign-in',
    audience: 'For certificate officers and the system, security and audit administrators.',
    username: 'Username',
    usernamePlaceholder: 'Enter your username',
    usernameRequired: 'Please enter your username',
    password: 'Password',
    passwordPlaceholder: 'Enter your password',
    passwordRequired: 'Please enter your password',
    secondFactor:
      'Administrators will also need a second factor (such as a one-time code or a digital certificate); this step arrives in a later version.',
    submit: 'Sign in',
  },
  loginError: {
    title: 'Sign-in failed',
    status: 'The server answered with status {{status}}.',
    network: 'Could not reach the server, or its answer was not understood. Check the network and try again.',
    unsupported: 'The server answered, but this version does not support what follows sign-in yet.',
  },
}
