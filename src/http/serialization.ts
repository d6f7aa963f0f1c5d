import fastJsonStringify from 'fast-json-stringify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set by buildApp: compiles every route's response schemas now (they compile lazily). */
    compileAllSerializers(): number;
  }
}

type Serialize = (data: unknown) => string;

/** One compiled serializer per response schema and process, shared by every app it builds. */
const compiled = new Map<string, Serialize>();

function compileOnce(key: string, schema: object): Serialize {
  let serialize = compiled.get(key);
  if (!serialize) {
    serialize = fastJsonStringify(schema) as Serialize;
    compiled.set(key, serialize);
  }
  return serialize;
}

/**
 * Fastify's response serializers (fast-json-stringify, as Fastify's own compiler builds them),
 * each compiled at its first response instead of when the app is built: compiling every route's
 * response schemas took more of building an app than registering its routes, paid by every
 * process that starts and by every test's app, for answers most of them never send.
 */
export function createSerializerCompiler() {
  /** What this compiler handed out, so that `compileAll` can check every schema at once. */
  const handedOut = new Map<string, object>();
  const compile = ({ schema }: { schema: object }): Serialize => {
    const key = JSON.stringify(schema);
    handedOut.set(key, schema);
    let serialize: Serialize | undefined;
    return (data) => {
      serialize ??= compileOnce(key, schema);
      return serialize(data);
    };
  };
  /** Compiles every schema handed out so far (a test's check that all of them compile); how many. */
  compile.compileAll = (): number => {
    for (const [key, schema] of handedOut) compileOnce(key, schema);
    return handedOut.size;
  };
  return compile;
}
