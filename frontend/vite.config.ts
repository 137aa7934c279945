/// <reference types="vitest/config" />
// Builds the dashboard into the Python package's static directory, which `wattwitness serve` serves at /.
// Everything is bundled (no CDN): the dashboard must work on an air-gapped solar-park LAN.
import { fileURLToPath, URL } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const apiTarget = process.env.WATTWITNESS_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "../src/wattwitness/server/static",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { "/api": apiTarget, "/health": apiTarget },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/testing/setup-dom.ts"],
    // Generous: the machine is shared; every wait inside a test is for a condition, never a fixed sleep.
    testTimeout: 60_000,
  },
});
