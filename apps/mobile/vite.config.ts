import { yiqianAppConfig } from '../shared/vite-app-config'

export default yiqianAppConfig({ base: '/m/', uiChunk: 'antd-mobile' })
