// Built into dist/ for the backend to serve at /app/; `npm run dev` serves it at / on :5173.
import { defineConfig } from "vite";

export default defineConfig(({ command }) => ({
  base: command === "build" ? "/app/" : "/",
  resolve: {
    // The client's sources live in ../clients/typescript; its one runtime dependency is resolved
    // from here, so a clean clone needs only this directory's `npm ci`.
    dedupe: ["openapi-fetch"],
  },
  server: { fs: { allow: [".."] } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
}));
