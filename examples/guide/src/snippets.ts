// Finds the TypeScript snippets of a Markdown document, so a test can compile them and the guide
// cannot drift from the code.

/** A fenced ```ts (or ```typescript) block of a Markdown document. */
export interface Snippet {
  /** The code, without the fences. */
  readonly code: string;
  /** The 1-based line of the document where the code starts (the line after the opening fence). */
  readonly line: number;
  /**
   * Where the snippet is written, relative to its document's folder of snippets: from a
   * `<!-- snippet: file=PATH -->` marker, so that other snippets of the same document can import
   * it; `undefined` for a snippet of its own.
   */
  readonly file?: string;
  /** Whether a `<!-- snippet: partial -->` marker opts it out, being deliberately incomplete. */
  readonly partial: boolean;
}

const OPEN = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/;
const MARKER = /^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$/;

/**
 * The TypeScript snippets of `markdown`, in order. A marker comment on the line just before a
 * block's fence (`<!-- snippet: partial -->` or `<!-- snippet: file=src/x.ts -->`) applies to it;
 * an unknown marker throws, so a typo cannot opt a snippet out.
 */
export function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i] as string);
    if (open === null) continue;
    const [, indent = "", fence = ""] = open;
    const close = lines.findIndex((l, j) => j > i && l.trim() === fence);
    if (close === -1) throw new Error(`line ${i + 1}: a ${fence}ts block that never closes`);
    const marker = MARKER.exec(lines[i - 1] ?? "")?.[1];
    if (marker !== undefined && marker !== "partial" && !/^file=\S+\.ts$/.test(marker))
      throw new Error(`line ${i}: unknown snippet marker "${marker}" (use "partial" or "file=PATH.ts")`);
    const code = lines
      .slice(i + 1, close)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join("\n");
    snippets.push({
      code: `${code}\n`,
      line: i + 2,
      partial: marker === "partial",
      ...(marker?.startsWith("file=") ? { file: marker.slice("file=".length) } : {}),
    });
    i = close;
  }
  return snippets;
}
