/**
 * Turns a webhook secret into HMAC key bytes (Runhook's docs/receiving-webhooks.md#checking-the-signature): a `whsec_<base64>` secret is used
 * as its decoded bytes, as in Standard Webhooks; any other string as its UTF-8 bytes.
 *
 * "Of the form `whsec_<base64>`" is read strictly (standard alphabet, length a multiple of 4,
 * at most two `=`), so a string such as `whsec_not base64!` is not silently decoded into
 * different bytes by a lenient decoder: it is used as plain UTF-8, like any other password.
 */
const WHSEC_PREFIX = 'whsec_';
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function signingKey(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) {
    const encoded = secret.slice(WHSEC_PREFIX.length);
    if (encoded.length > 0 && STRICT_BASE64.test(encoded)) return Buffer.from(encoded, 'base64');
  }
  return Buffer.from(secret, 'utf8');
}
