export interface EnvVarsTable {
  app: string;
  key: string;
  /** age ciphertext of the value; the plaintext is never stored. */
  value_enc: Buffer;
  updated_at: string;
}
