import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The panel is served under a strict Content-Security-Policy (script-src 'self'; style-src 'self'),
// so the build must emit only external scripts and stylesheets: no inline modulepreload polyfill,
// no assets inlined as data: URLs into CSS or JS.
export default defineConfig({
  // Relative asset URLs, so the panel works wherever /admin/ is mounted (behind PUBLIC_BASE_URL too).
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
