import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime: no framework plugin needed.
// `npm run dev` proxies the API to a running `switchboard serve` (SWITCHBOARD_URL, default :8080).
const backend = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2020' },
    server: {
        proxy: { '/api': backend, '/oauth': backend, '/hooks': backend },
    },
});
