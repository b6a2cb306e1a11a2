import type { Messages } from './zh-CN'

export const en: Messages = {
  product: {
    name: '医签 Yiqian',
    area: 'Mobile signing',
    versionLabel: 'Version',
  },
  document: {
    title: 'Yiqian · Mobile signing',
  },
  language: {
    'zh-CN': '中文',
    en: 'English',
    switch: 'Switch language',
  },
  login: {
    heading: 'Staff sign-in',
    intro: 'Sign in with your hospital staff number and password.',
    username: 'Staff number',
    usernamePlaceholder: 'Enter your staff number',
    usernameRequired: 'Please enter your staff number',
    password: 'Password',
    passwordPlaceholder: 'Enter your password',
    passwordRequired: 'Please enter your password',
    submit: 'Sign in',
  },
  loginError: {
    title: 'Sign-in failed',
    status: 'The server answered with status {{status}}.',
    network: 'Could not reach the server, or its answer was not understood. Check the network and try again.',
    unsupported: 'The server answered, but this version does not support what follows sign-in yet.',
  },
}
