export { sm3 } from './sm3.js'
