export { certificateRoutes } from './routes.js'
