import { closeSync } from "node:fs";
import { expect, it } from "vitest";
// The package index first, as a user imports it; binding.ts only for its internal flag.
import * as index from "./index.ts";
import { loaded, native } from "./binding.ts";

// Vitest gives each test file its own module instances, so nothing else has loaded the addon here.
it("loads the addon on the first native call, not when the package is imported, and only once", () => {
  expect(typeof index.createUvPoller).toBe("function");
  expect(loaded()).toBe(false);
  const [r, w] = index.pipe();
  closeSync(r);
  closeSync(w);
  expect(loaded()).toBe(true);
  expect(native()).toBe(native());
});
