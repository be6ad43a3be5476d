import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SecretBox } from '@webhooks/core';

const VERSION = 'v1';

/**
 * AES-256-GCM for secrets at rest: `v1.<iv>.<tag>.<ciphertext>` in base64url. The key is 32 bytes
 * (give raw bytes, or a passphrase that is hashed to 32 bytes with SHA-256).
 */
export function createAesGcmSecretBox(key: Uint8Array | string): SecretBox {
  const keyBytes = typeof key === 'string' ? createHash('sha256').update(key, 'utf8').digest() : Buffer.from(key);
  if (keyBytes.length !== 32) throw new TypeError('The secret-box key must be 32 bytes');
  return {
    seal(plainText: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyBytes, iv);
      const sealed = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
      return [
        VERSION,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        sealed.toString('base64url'),
      ].join('.');
    },
    open(sealed: string): string {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== VERSION || !iv || !tag || data === undefined) throw new TypeError('Not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', keyBytes, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** `whsec_` + 32 bytes from the CSPRNG, base64: also a valid Standard Webhooks secret. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
