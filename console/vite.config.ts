import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Served by gridwalk-server under /console/; `npm run dev` proxies the API to a local server.
export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  server: { proxy: { '/console/api': 'http://127.0.0.1:8080' } },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
})
