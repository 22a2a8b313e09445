// Vite config of the ozk web page: React, the SDK imported from ../sdk, build into .ozk/app-dist (git-ignored;
// served by runtime/page-server.ts), vitest component tests in jsdom.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL("../.ozk/app-dist", import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  test: { environment: "jsdom", include: ["**/*.test.tsx", "**/*.test.ts"], exclude: ["node_modules/**"], root: here },
});
