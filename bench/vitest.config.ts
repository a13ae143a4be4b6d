import { redisseVitestConfig } from '@redisse/test-utils/vitestConfig'

export default redisseVitestConfig()
