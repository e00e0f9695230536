/** COSE_Sign1 starts with an array of 4 (0x84) or tag 18 (0xd2): anything else is text to decode (hex, base64). */
export const looksLikeCose = (bytes: Uint8Array): boolean => bytes[0] === 0x84 || bytes[0] === 0xd2;

/** BER CMS starts with a SEQUENCE (0x30). */
export const looksLikeBer = (bytes: Uint8Array): boolean => bytes[0] === 0x30;
