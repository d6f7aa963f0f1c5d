/**
 * A batch of statements as ONE simple-protocol query string (docs/architecture.md#the-store):
 * `BEGIN; …; COMMIT` with each statement's parameters written in as SQL literals. node-postgres
 * does not pipeline, so the extended protocol costs a round trip (and a protocol exchange on the
 * server) per statement; the hot path's batches (a claim's lease statements, a group commit's
 * three record statements) then spend more time waiting and parsing messages than working.
 *
 * Only plain values are written in: strings (quoted, quotes doubled, backslashes doubled in an
 * `E''` literal, so the text means the same whatever `standard_conforming_strings` says), finite
 * numbers, bigints and booleans (quoted too, in the text node-postgres would have bound: an
 * untyped quoted literal takes its type from its context exactly as a parameter does), and null. Anything else (a Buffer, a Date, NaN) returns null and the
 * caller sends the batch statement by statement with real parameters. Placeholders are found by
 * a scanner that skips quoted literals, quoted identifiers and comments, so a `$1` inside the SQL
 * text's own strings is never touched.
 */

/** `text` with `$1…$n` replaced by `params` as literals, or null when a value cannot be written in. */
export function inlineParameters(text: string, params: readonly unknown[]): string | null {
  const literals: string[] = [];
  for (const p of params) {
    const lit = literal(p);
    if (lit === null) return null;
    literals.push(lit);
  }
  if (literals.length === 0) return text;
  let out = '';
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x27 /* ' */ || c === 0x22 /* " */) {
      // A quoted literal or identifier: a doubled quote is part of it.
      const quote = c;
      i++;
      while (i < n) {
        if (text.charCodeAt(i) === quote) {
          if (text.charCodeAt(i + 1) === quote) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === 0x2d /* - */ && text.charCodeAt(i + 1) === 0x2d) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end;
    } else if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === 0x24 /* $ */ && isDigit(text.charCodeAt(i + 1))) {
      let j = i + 1;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      const index = Number(text.slice(i + 1, j)) - 1;
      const lit = literals[index];
      // A placeholder without a value is the extended protocol's error to report, not ours.
      if (lit === undefined) return null;
      out += text.slice(from, i) + lit;
      from = j;
      i = j;
    } else if (c === 0x24 /* $ */) {
      // Dollar quoting ($$ … $$, $tag$ … $tag$) is not used by Runhook's statements: refuse it
      // rather than risk reading inside one.
      return null;
    } else i++;
  }
  return out + text.slice(from);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function literal(value: unknown): string | null {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string': {
      // A NUL cannot be stored in PostgreSQL text either way; the extended protocol reports it.
      if (value.includes('\0')) return null;
      const quoted = value.replaceAll("'", "''");
      return value.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
    }
    // Quoted like a string, as node-postgres sends a bound number or boolean: a quoted literal is
    // typed from its context exactly as a parameter is, so `CAST(… AS text)` reads the same text.
    case 'number':
      return Number.isFinite(value) ? `'${String(value)}'` : null;
    case 'bigint':
      return `'${String(value)}'`;
    case 'boolean':
      return value ? "'true'" : "'false'";
    default:
      return null;
  }
}
