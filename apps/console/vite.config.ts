import { yiqianAppConfig } from '../shared/vite-app-config'

export default yiqianAppConfig({ base: '/console/', uiChunk: 'antd' })
