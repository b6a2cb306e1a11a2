export { type ClientOptions, createClient, type YiqianClient } from './client.js'
export { type ProblemDetails, ProblemError } from './problem.js'
