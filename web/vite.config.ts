import { defineConfig } from "vite";

// Static files for cercle-server --web web/dist. No inline scripts or styles (strict CSP), hashed
// file names under assets/ (served with immutable caching).
export default defineConfig({
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
