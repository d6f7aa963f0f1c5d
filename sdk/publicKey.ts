import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * ed25519 public keys as an `ed25519` Runhook webhook shows them: `whpk_<base64 of the raw
 * 32-byte key>` (Standard Webhooks' asymmetric signatures, `v1a`).
 */
const WHPK_PREFIX = 'whpk_';
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for a `whpk_...` string: verifyWebhook checks `v1a` entries with it instead of `v1`. */
export function isPublicKey(key: string): boolean {
  return key.startsWith(WHPK_PREFIX);
}

const parsed = new Map<string, KeyObject>();

/** The key object of a `whpk_` public key; throws on anything but 32 bytes of strict base64. */
function publicKeyObject(key: string): KeyObject {
  const known = parsed.get(key);
  if (known !== undefined) return known;
  const encoded = key.slice(WHPK_PREFIX.length);
  const raw = STRICT_BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (raw.length !== 32) {
    throw new TypeError(
      'A public key must be whpk_ followed by the base64 of 32 bytes (the webhook’s public_key)',
    );
  }
  const object = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  if (parsed.size >= 100) parsed.clear();
  parsed.set(key, object);
  return object;
}

/** Whether `signatureBase64` (a `v1a` entry's value) is `key`'s ed25519 signature of `signed`. */
export function verifyEd25519(key: string, signed: Buffer, signatureBase64: string): boolean {
  const object = publicKeyObject(key);
  if (!STRICT_BASE64.test(signatureBase64)) return false;
  const signature = Buffer.from(signatureBase64, 'base64');
  if (signature.length !== 64) return false;
  return verify(null, signed, object, signature);
}
