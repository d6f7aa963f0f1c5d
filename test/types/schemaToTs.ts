/**
 * Writes TypeScript declarations for the subset of JSON Schema that Runhook's payload and API
 * schemas use (objects, strings, numbers, booleans, `const`, `enum`, `null` in a type list,
 * arrays). The output is plain interfaces with the schemas' descriptions as doc comments, so the
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
    if (name) return name;
    if ('const' in schema) return literal(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ');
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    return types.map((t) => this.single(t, schema, indent, self)).join(' | ');
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
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const inner = `${indent}  `;
    const lines = Object.entries(properties).map(([key, prop]) => {
      const optional = required.has(key) ? '' : '?';
      const own = prop.description as string | undefined;
      return `${comment(own, inner)}${inner}${key}${optional}: ${this.type(prop, inner, self)};\n`;
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
