import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by `npm run build` (`vite build web`), so this folder is the root; the server serves
// dist/web at `/` with a fallback to index.html for client-side routes.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    // `npx vite web` during development: forward API calls to a running `runhook serve`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
