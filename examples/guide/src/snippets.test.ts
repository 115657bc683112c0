// Every ```ts snippet of README.md and docs/*.md is typechecked against the packages' sources, as
// a module of its own (top-level await allowed) in a folder inside this package, so that a renamed
// function or a changed signature breaks the test, not the reader. A deliberately partial snippet
// says so with `<!-- snippet: partial -->` on the line before its fence; `<!-- snippet:
// file=src/x.ts -->` writes a snippet where other snippets of the same document import it from.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { extractSnippets, type Snippet } from "./snippets.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
/** Inside the workspace, so snippets resolve `@evloop/*` through this package's dependencies; ignored by git. */
const out = fileURLToPath(new URL("../node_modules/.snippets/", import.meta.url));

const documents = ["README.md", ...readdirSync(join(root, "docs")).map((f) => `docs/${f}`)]
  .filter((f) => f.endsWith(".md") && existsSync(join(root, f)))
  .sort();

/** Where each written snippet came from. */
const origin = new Map<string, { document: string; snippet: Snippet }>();
/** The problems found, by document. */
const problems = new Map<string, string[]>();

beforeAll(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module", private: true }));
  for (const document of documents) {
    const folder = join(out, document.replace(/[/.]/g, "-"));
    extractSnippets(readFileSync(join(root, document), "utf8")).forEach((snippet, n) => {
      if (snippet.partial) return;
      const file = join(folder, snippet.file ?? `snippet-${n + 1}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, snippet.code);
      origin.set(file, { document, snippet });
    });
  }
  const config = ts.parseJsonConfigFileContent(
    {
      extends: join(root, "tsconfig.base.json"),
      compilerOptions: {
        noEmit: true,
        composite: false,
        declaration: false,
        declarationMap: false,
        customConditions: ["@evloop/source"],
        // Each snippet is a module, even one without imports: no clashes between snippets' names.
        moduleDetection: "force",
      },
      files: [...origin.keys()],
    },
    ts.sys,
    out,
  );
  const program = ts.createProgram(config.fileNames, config.options);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    const from = diagnostic.file === undefined ? undefined : origin.get(diagnostic.file.fileName);
    if (diagnostic.file === undefined || from === undefined) {
      // Not in a snippet (a package's own source): report it against every document.
      for (const document of documents) problems.set(document, [...(problems.get(document) ?? []), `TS${diagnostic.code}: ${message}`]);
      continue;
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const at = `${from.document}:${from.snippet.line + line}:${character + 1}`;
    problems.set(from.document, [...(problems.get(from.document) ?? []), `${at} TS${diagnostic.code}: ${message}`]);
  }
}, 60_000);

describe("the guide's snippets", () => {
  it("include the guide's pages", () => {
    expect(documents).toEqual(expect.arrayContaining(["docs/getting-started.md", "docs/seed.md", "docs/choosing-a-loop.md"]));
    const checked = new Set([...origin.values()].map((o) => o.document));
    expect([...checked]).toEqual(expect.arrayContaining(["docs/getting-started.md", "docs/choosing-a-loop.md"]));
    expect(relative(root, out)).toBe(join("examples", "guide", "node_modules", ".snippets"));
  });

  it.each(documents)("%s: every ts snippet typechecks", (document) => {
    expect(problems.get(document) ?? []).toEqual([]);
  });
});

describe("extractSnippets", () => {
  it("finds ts and typescript blocks with the line they start on, and their markers", () => {
    const doc = [
      "# Title", // 1
      "```ts", // 2
      "const a = 1;", // 3
      "```", // 4
      "<!-- snippet: partial -->", // 5
      "```typescript", // 6
      "a.b();", // 7
      "```", // 8
      "```sh", // 9
      "pnpm test", // 10
      "```", // 11
      "<!-- snippet: file=src/x.ts -->", // 12
      "  ````ts", // 13
      "  export const x = 1;", // 14
      "  ````", // 15
    ].join("\n");
    expect(extractSnippets(doc)).toEqual([
      { code: "const a = 1;\n", line: 3, partial: false },
      { code: "a.b();\n", line: 7, partial: true },
      { code: "export const x = 1;\n", line: 14, partial: false, file: "src/x.ts" },
    ]);
  });

  it("refuses an unknown marker and an unclosed block", () => {
    expect(() => extractSnippets("<!-- snippet: skip -->\n```ts\nx\n```")).toThrow(/unknown snippet marker "skip"/);
    expect(() => extractSnippets("```ts\nx\n")).toThrow(/never closes/);
  });
});
