/** Runs first: says plainly when PostgreSQL or Redis is down (every other file needs both). */
import { test } from 'node:test'
import { TEST_DATABASE_URL, TEST_REDIS_URL, checkServices } from './support/env'

test(`PostgreSQL (${TEST_DATABASE_URL}) and Redis (${TEST_REDIS_URL}) are reachable`, async () => {
  await checkServices()
})
