/**
 * Statements whose text never changes, built and compiled by Kysely once per store and then only
 * filled with each call's values (docs/architecture.md#the-store): the hot paths' queries (a
 * finished run's unit, the API key lookup) cost a compilation per call otherwise.
 */
import { CompiledQuery } from 'kysely';
import type { Ctx } from './context.js';

/**
 * Values as slots: each value is stood in for by a symbol named after it (the same symbol for
 * the same name, every time: slotFor), so that a statement compiled with the symbols is a template, filled
 * by putting each run's values in their place. Parameters that are not slots are constants of the
 * statement's text (the `1` of `run_seq + 1`) and stay as they are.
 */
export class Slots {
  readonly #values = new Map<symbol, unknown>();

  one(name: string, value: unknown): symbol {
    const slot = slotFor(name);
    this.#values.set(slot, value);
    return slot;
  }

  row(prefix: string, row: Record<string, unknown>): Record<string, symbol> {
    const out: Record<string, symbol> = {};
    for (const key in row) {
      const slot = slotFor(key, prefix);
      this.#values.set(slot, row[key]);
      out[key] = slot;
    }
    return out;
  }

  fill(parameters: readonly unknown[]): unknown[] {
    return parameters.map((p) => {
      if (typeof p !== 'symbol') return p;
      if (!this.#values.has(p)) throw new Error(`no value for ${String(p.description)}`);
      return this.#values.get(p);
    });
  }
}

const slotNames = new Map<string, Map<string, symbol>>();

function slotFor(name: string, prefix = ''): symbol {
  let named = slotNames.get(prefix);
  if (!named) {
    named = new Map();
    slotNames.set(prefix, named);
  }
  let slot = named.get(name);
  if (!slot) {
    slot = Symbol(prefix ? `${prefix}.${name}` : name);
    named.set(name, slot);
  }
  return slot;
}

const shapes = new WeakMap<object, Map<string, readonly CompiledQuery[]>>();

/**
 * A shape's statements, compiled once per store: Kysely built and compiled the finished run's
 * statements for every run, ~100 µs of the main thread per run (a third of createFinishedRun's),
 * and the API key lookup for every request, ~20 µs, for the same text every time. `shape` names
 * the statements among all of a store's shapes (prefix it with the operation).
 */
export function statementShape(
  ctx: Ctx,
  shape: string,
  build: () => CompiledQuery[],
): readonly CompiledQuery[] {
  let byShape = shapes.get(ctx.db);
  if (!byShape) {
    byShape = new Map();
    shapes.set(ctx.db, byShape);
  }
  let compiled = byShape.get(shape);
  if (!compiled) {
    compiled = build();
    byShape.set(shape, compiled);
  }
  return compiled;
}

/** A shape's statements (statementShape), filled with this call's values. */
export function filledShape(
  ctx: Ctx,
  shape: string,
  slots: Slots,
  build: () => CompiledQuery[],
): CompiledQuery[] {
  return statementShape(ctx, shape, build).map((q) => CompiledQuery.raw(q.sql, slots.fill(q.parameters)));
}
