/**
 * Writes TypeScript declarations for the subset of JSON Schema that Runhook's payload and API
 * schemas use (objects, maps through `additionalProperties`, strings, numbers, booleans, `const`,
 * `enum`, `null` in a type list, arrays). The output is plain interfaces with the schemas' descriptions as doc comments, so the
 * SDK and the dashboard get types without a dependency; test/types/generatedTypes.test.ts keeps the
 * generated files equal to what this writes.
 */

type Schema = Record<string, unknown>;

export interface NamedSchema {
  name: string;
  schema: Schema;
  /** Doc comment for the declaration; defaults to the schema's description. */
  doc?: string;
}

function comment(text: string | undefined, indent: string): string {
  if (!text) return '';
  const safe = text.replace(/\*\//g, '*\\/');
  return `${indent}/** ${safe} */\n`;
}

function literal(value: unknown): string {
  return typeof value === 'string'
    ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
    : JSON.stringify(value);
}

/** Biome's line width: a longer `key: 'a' | 'b' | …;` is written one member a line, as Biome formats it. */
const LINE_WIDTH = 110;

function wrapUnion(line: string, indent: string): string {
  if (line.length <= LINE_WIDTH || line.includes('{')) return line;
  const match = /^(\s*[^:]+: )(Array<)?(.*?)(>)?;$/.exec(line);
  if (!match || match[3]!.includes('<')) return line;
  const [, head, array, union] = match;
  const members = union!.split(' | ');
  if (members.length < 2) return line;
  if (array) return `${head}Array<\n${members.map((m) => `${indent}  | ${m}\n`).join('')}${indent}>;`;
  return `${head!.trimEnd()}\n${members.map((m) => `${indent}  | ${m}`).join('\n')};`;
}

export class TypeWriter {
  constructor(private readonly named: readonly NamedSchema[]) {}

  /** The name of a schema declared on its own, matched by identity or by its `properties` object. */
  private nameOf(schema: Schema, except: Schema): string | null {
    for (const n of this.named) {
      if (n.schema === except) continue;
      if (n.schema === schema) return n.name;
      if (schema.properties !== undefined && n.schema.properties === schema.properties) return n.name;
    }
    return null;
  }

  type(schema: Schema, indent: string, self: Schema): string {
    const name = schema === self ? null : this.nameOf(schema, self);
    if (name) return this.orNull(name, schema);
    if ('const' in schema) return literal(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ');
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    return types.map((t) => this.single(t, schema, indent, self)).join(' | ');
  }

  /** A named object reused with `null` added to its type list (`{ ...schema, type: ['object', 'null'] }`). */
  private orNull(name: string, schema: Schema): string {
    const own = this.named.find((n) => n.name === name)?.schema;
    const nullable = (s: Schema | undefined) =>
      Array.isArray(s?.type) && (s.type as string[]).includes('null');
    return nullable(schema) && !nullable(own) ? `${name} | null` : name;
  }

  private single(type: string, schema: Schema, indent: string, self: Schema): string {
    switch (type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array': {
        const item = this.type(schema.items as Schema, indent, self);
        return item.includes(' ') ? `Array<${item}>` : `${item}[]`;
      }
      case 'object':
        return this.object(schema, indent, self);
      default:
        throw new Error(`schemaToTs: unsupported type ${type}`);
    }
  }

  private object(schema: Schema, indent: string, self: Schema): string {
    const extra = schema.additionalProperties;
    if (schema.properties === undefined && extra !== undefined && extra !== false) {
      const value = extra === true ? 'unknown' : this.type(extra as Schema, indent, self);
      return `Record<string, ${value}>`;
    }
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const inner = `${indent}  `;
    const lines = Object.entries(properties).map(([key, prop]) => {
      const optional = required.has(key) ? '' : '?';
      const own = prop.description as string | undefined;
      const line = `${inner}${key}${optional}: ${this.type(prop, inner, self)};`;
      return `${comment(own, inner)}${wrapUnion(line, inner)}\n`;
    });
    return `{\n${lines.join('')}${indent}}`;
  }

  declaration({ name, schema, doc }: NamedSchema): string {
    const body = this.type(schema, '', schema);
    const head = comment(doc ?? (schema.description as string | undefined), '');
    return body.startsWith('{')
      ? `${head}export interface ${name} ${body}\n`
      : `${head}export type ${name} = ${body};\n`;
  }

  file(header: string, extra = ''): string {
    return `${header}\n${this.named.map((n) => this.declaration(n)).join('\n')}${extra}`;
  }
}
