import { defineConfig } from 'vite';

// Relative base: the dashboard works at / directly and behind nginx on the same origin as
// /api/ and /hls/.
export default defineConfig({
  base: './',
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
