export { pkiRoutes } from './routes.js'
