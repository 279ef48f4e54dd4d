/** A Node-crypto Sha256 for the AWS SDK's SignatureV4 signer (the SDK's own implementation, in the SDK's interface). */
import { createHash, createHmac } from 'node:crypto';

export class Sha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array) {
    this.h.update(data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}
