/** What the attested client hands back: plain objects, key material in Uint8Arrays of their own. */
export interface DataKey {
  readonly keyId: string;
  /** The data key; zero it when done. */
  readonly plaintext: Uint8Array;
  readonly ciphertextBlob: Uint8Array;
}

export interface DataKeyPair {
  readonly keyId: string;
  readonly keyPairSpec: string;
  /** PKCS#8 DER private key; zero it when done. */
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly privateKeyCiphertextBlob: Uint8Array;
}
