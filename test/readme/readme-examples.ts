/**
 * The README's runnable examples, and how their output is compared with what the README shows.
 *
 * Marking an example: put an HTML comment (invisible on GitHub) on the line before a ```sh block,
 *
 *     <!-- readme-test: name [vary=key1,key2] [exit=N] -->
 *     ```sh
 *     curl -s http://127.0.0.1:3000/status | jq
 *     ```
 *     ```
 *     { "events": { ... }, ... }
 *     ```
 *
 * and, if it prints something, its output in the fenced block right after it (no blank line between).
 *
 * The comparison:
 * - If the expected output is a sequence of JSON values (one or several, whitespace between them, so
 *   `{"error":"..."} 400` is an object and a number), the actual output must be a sequence of as many JSON
 *   values of the same shape: the same keys, the same array lengths, the same types, and equal values,
 *   except that
 *   - the value of a key named in `vary=` may be anything of the same JSON type (ids, cursors, epoch times,
 *     counters that depend on timing),
 *   - an ISO-8601 UTC time (`2026-11-24T07:28:56.000Z`) anywhere in a string matches any such time,
 *   - `…` in a string matches any text.
 *   Whitespace and line breaks between JSON tokens do not matter.
 * - Otherwise it is compared line by line (trailing spaces and leading or trailing blank lines ignored), with
 *   the same two rules for times and `…` within a line, and a line that is only `…` standing for any number
 *   of lines.
 * - The example's last command must exit with `exit=` (default 0).
 */

export interface ReadmeExample {
  readonly name: string;
  /** 1-based line of the marker in the README. */
  readonly line: number;
  readonly script: string;
  /** undefined when the README shows no output for it. */
  readonly expected?: string;
  readonly vary: ReadonlySet<string>;
  readonly exitCode: number;
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;

export function extractExamples(markdown: string): ReadmeExample[] {
  const lines = markdown.split('\n');
  const examples: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!);
    if (!marker) continue;
    const at = i + 1;
    const [name, ...options] = marker[1]!.split(/\s+/);
    if (!name) throw new Error(`README line ${at}: readme-test marker without a name`);
    let vary = new Set<string>();
    let exitCode = 0;
    for (const option of options) {
      const [key, value = ''] = option.split('=', 2);
      if (key === 'vary') vary = new Set(value.split(',').filter(Boolean));
      else if (key === 'exit' && /^\d+$/.test(value)) exitCode = Number(value);
      else throw new Error(`README line ${at}: unknown readme-test option '${option}' (vary=a,b or exit=N)`);
    }
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? '')) {
      throw new Error(`README line ${at}: the readme-test marker '${name}' must be right before a \`\`\`sh block`);
    }
    const script = fenced(lines, i + 1);
    let expected: string | undefined;
    const next = script.end + 1;
    if (/^```/.test(lines[next] ?? '') && !/^```(sh|bash)\s*$/.test(lines[next]!)) {
      const output = fenced(lines, next);
      expected = output.body;
      i = output.end;
    } else {
      i = script.end;
    }
    examples.push({ name, line: at, script: script.body, expected, vary, exitCode });
  }
  return examples;
}

function fenced(lines: readonly string[], open: number): { body: string; end: number } {
  for (let j = open + 1; j < lines.length; j++) {
    if (/^```\s*$/.test(lines[j]!)) return { body: lines.slice(open + 1, j).join('\n'), end: j };
  }
  throw new Error(`README line ${open + 1}: code block is not closed`);
}

/** Differences between the README's output and the actual one; empty when they match. */
export function compareOutput(expected: string, actual: string, vary: ReadonlySet<string> = new Set()): string[] {
  const expectedValues = parseJsonSequence(expected);
  if (expectedValues !== undefined) {
    const actualValues = parseJsonSequence(actual);
    if (actualValues === undefined) return ['expected JSON, but the output is not a sequence of JSON values'];
    const problems: string[] = [];
    if (actualValues.length !== expectedValues.length) {
      problems.push(`expected ${expectedValues.length} JSON value(s), got ${actualValues.length}`);
    }
    const n = Math.min(actualValues.length, expectedValues.length);
    for (let k = 0; k < n; k++) compareJson(expectedValues[k], actualValues[k], `[${k}]`, vary, problems);
    return problems;
  }
  return compareLines(expected, actual);
}

/** JSON values separated by whitespace, or undefined when the text is not that. */
export function parseJsonSequence(text: string): unknown[] | undefined {
  const values: unknown[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) return values.length > 0 ? values : undefined;
    const end = valueEnd(text, i);
    if (end === undefined) return undefined;
    try {
      values.push(JSON.parse(text.slice(i, end)));
    } catch {
      return undefined;
    }
    i = end;
  }
}

function valueEnd(text: string, start: number): number | undefined {
  const first = text[start]!;
  if (first === '{' || first === '[' || first === '"') {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') {
          inString = false;
          if (depth === 0) return i + 1;
        }
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return undefined;
  }
  let i = start;
  while (i < text.length && !/[\s{["]/.test(text[i]!)) i++;
  return i;
}

function compareJson(expected: unknown, actual: unknown, at: string, vary: ReadonlySet<string>, problems: string[]) {
  const key = /\.([^.[\]]+)$/.exec(at)?.[1];
  if (key !== undefined && vary.has(key)) {
    if (jsonType(expected) !== jsonType(actual)) {
      problems.push(`${at}: expected a ${jsonType(expected)} (varying), got ${JSON.stringify(actual)}`);
    }
    return;
  }
  if (jsonType(expected) !== jsonType(actual)) {
    problems.push(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    return;
  }
  if (typeof expected === 'string') {
    if (!textPattern(expected).test(actual as string)) {
      problems.push(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
  } else if (Array.isArray(expected)) {
    const got = actual as unknown[];
    if (got.length !== expected.length) {
      problems.push(`${at}: expected ${expected.length} element(s), got ${got.length}: ${JSON.stringify(actual)}`);
      return;
    }
    expected.forEach((e, k) => {
      compareJson(e, got[k], `${at}[${k}]`, vary, problems);
    });
  } else if (expected !== null && typeof expected === 'object') {
    const exp = expected as Record<string, unknown>;
    const got = actual as Record<string, unknown>;
    const missing = Object.keys(exp).filter((k) => !(k in got));
    const extra = Object.keys(got).filter((k) => !(k in exp));
    if (missing.length > 0) problems.push(`${at}: missing key(s) ${missing.join(', ')}`);
    if (extra.length > 0) problems.push(`${at}: unexpected key(s) ${extra.join(', ')}`);
    for (const k of Object.keys(exp)) if (k in got) compareJson(exp[k], got[k], `${at}.${k}`, vary, problems);
  } else if (expected !== actual) {
    problems.push(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z/g;

/** The expected text as a pattern: any ISO-8601 UTC time for each one shown, any text for `…`. */
function textPattern(expected: string): RegExp {
  let source = '';
  let last = 0;
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('…', '[\\s\\S]*');
  for (const m of expected.matchAll(ISO_TIME)) {
    source += `${literal(expected.slice(last, m.index))}${ISO_TIME.source}`;
    last = m.index + m[0].length;
  }
  source += literal(expected.slice(last));
  return new RegExp(`^${source}$`);
}

function compareLines(expected: string, actual: string): string[] {
  const exp = trimLines(expected);
  const got = trimLines(actual);
  const patterns = exp.map((line) => (line === '…' ? undefined : textPattern(line)));
  // match[i][j]: expected lines from i match actual lines from j.
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let ok: boolean;
    if (i === patterns.length) ok = j === got.length;
    else if (patterns[i] === undefined) ok = match(i + 1, j) || (j < got.length && match(i, j + 1));
    else ok = j < got.length && patterns[i]!.test(got[j]!) && match(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  if (match(0, 0)) return [];
  // Name the first line that differs, reading both from the top.
  for (let k = 0; k < Math.max(exp.length, got.length); k++) {
    if (exp[k] === '…') break;
    if (exp[k] === undefined || got[k] === undefined || !patterns[k]!.test(got[k]!)) {
      return [`line ${k + 1}: expected ${JSON.stringify(exp[k] ?? '(end)')}, got ${JSON.stringify(got[k] ?? '(end)')}`];
    }
  }
  return ['the lines differ'];
}

function trimLines(text: string): string[] {
  const lines = text.split('\n').map((line) => line.trimEnd());
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
