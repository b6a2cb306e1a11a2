export { caAdminRoutes } from './routes.js'
