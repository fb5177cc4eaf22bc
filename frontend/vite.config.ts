import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Built into ../static/builder/, which Django serves under /static/builder/; the index page itself is answered by
// the builder app at /builder/ (behind login). Everything is bundled: no CDN, no external font or script.
export default defineConfig({
  base: "/static/builder/",
  plugins: [react()],
  build: {
    outDir: "../static/builder",
    emptyOutDir: true,
    // The sizes `scripts/dev.py` prints are gzipped; Vite's own report is enough for the rest.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1200,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
