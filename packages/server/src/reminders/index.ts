export { type ReminderServices, reminderRoutes } from './routes.js'
