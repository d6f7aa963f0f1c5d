import { generateKeyPairSync } from 'node:crypto';
import type { SecretBox } from './secretBox.js';

/** A webhook's ed25519 key pair as stored: the private key sealed, the public key shown. */
export interface SealedSigningKey {
  /** The PKCS#8 DER private key, base64, sealed by the secret box. */
  signingKeyEnc: string;
  /** `whpk_<base64 of the raw 32-byte public key>` (Standard Webhooks). */
  publicKey: string;
}

/**
 * A new ed25519 key pair for one webhook (docs/delivery.md#ed25519-signatures). The private key
 * never leaves the server unsealed: it is stored encrypted like secrets and opened only to sign.
 */
export function generateSigningKey(box: SecretBox): SealedSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return { signingKeyEnc: box.seal(der), publicKey: `whpk_${raw.toString('base64')}` };
}
