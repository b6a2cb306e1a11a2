export { TSA_REQUEST_MAX_BYTES, tsaRoutes } from './routes.js'
