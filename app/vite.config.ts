// Vite config of the ozk web page: React, the SDK imported from ../sdk, a /rpc proxy to the chain in dev mode
// (OZK_RPC_URL), build into .ozk/app-dist (ignored), vitest component tests in jsdom.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL("../.ozk/app-dist", import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: {
    fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] },
    proxy: process.env.OZK_RPC_URL ? { "/rpc": { target: process.env.OZK_RPC_URL, rewrite: () => "/" } } : undefined,
  },
  test: { environment: "jsdom", include: ["**/*.test.tsx", "**/*.test.ts"], exclude: ["node_modules/**"], root: here },
});
