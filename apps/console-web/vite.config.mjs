// The console's single-page app: built by `npm run build` (tools/scripts/build.mjs) into
// dist/apps/console-web/, which the console's backend (apps/console) serves.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 2000 },
  logLevel: 'warn',
});
