/** The published Adaptive Card 1.4 schema (test/fixtures/adaptive-card) as a validator. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;
const require = createRequire(import.meta.url);

/** A validator for the published Adaptive Card 1.4 schema (JSON Schema draft-06). */
export function adaptiveCardValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  addFormats(ajv);
  const { id, ...schema } = JSON.parse(
    readFileSync(new URL('../fixtures/adaptive-card/adaptive-card-1.4.schema.json', import.meta.url), 'utf8'),
  );
  // The published file names itself with draft-04's `id`; Ajv 8 only reads `$id`. Same schema.
  const validate = ajv.compile({ $id: id, ...schema });
  return (card: unknown) => {
    const ok = validate(card) as boolean;
    return { ok, errors: ajv.errorsText(validate.errors) };
  };
}
