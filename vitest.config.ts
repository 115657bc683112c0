// One configuration serves every package: each package's `test` script runs vitest from its own
// folder with this file, so tests resolve workspace packages from source (the @evloop/source
// condition) and no build is needed first.
import { defineConfig } from "vitest/config";

const conditions = ["@evloop/source", "node", "import", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@evloop/source"] } },
  test: {
    root: process.cwd(),
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 20_000,
    reporters: ["default", ["json", { outputFile: ".vitest-results/result.json" }]],
  },
});
