import { yiqianAppConfig } from '../shared/vite-app-config'

const config = yiqianAppConfig({ base: '/console/', uiChunk: 'antd' })

// The console's pages load lazily and use far more of antd than the sign-in page does. One chunk for all of
// node_modules would put every page's components (tables, trees, date pickers, QR codes) in the first download,
// so the console drops that catch-all group and lets each page's components travel with it.
const output = config.build?.rolldownOptions?.output
if (output && !Array.isArray(output) && typeof output.codeSplitting === 'object') {
  const groups = output.codeSplitting.groups ?? []
  output.codeSplitting.groups = groups.filter((group) => group.name !== 'antd')
}

export default config
