import { describe, expect, it } from 'vitest';
import { decodeNsmRequest, encodeNsmResponse } from '@nitro-datakey/shared/testing';
import { decodeNsmResponse, encodeNsmRequest, NsmError, type NsmRequest, type NsmResponse } from '@nitro-datakey/shared';

// Written out by hand from serde's externally tagged encoding (aws-nitro-enclaves-nsm-api):
// text keys and variant names, fields in declaration order, None as null (f6), bytes as bstr.
const DESCRIBE_PCR = '6b 44657363726962655043 52';
const EXTEND_PCR = '69 457874656e64504352';
const LOCK_PCR = '67 4c6f636b504352';
const LOCK_PCRS = '68 4c6f636b50435273';
const ATTESTATION = '6b 4174746573746174696f6e';
const GET_RANDOM = '69 47657452616e646f6d';
const DESCRIBE_NSM = '6b 44657363726962654e534d';
const INDEX = '65 696e646578';
const DATA = '64 64617461';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const pcr48 = new Uint8Array(48).fill(0xab);
const PCR48_HEX = `58 30 ${'ab'.repeat(48)}`;

const requests: Array<[string, NsmRequest, string]> = [
  ['DescribeNSM', { type: 'DescribeNSM' }, DESCRIBE_NSM],
  ['GetRandom', { type: 'GetRandom' }, GET_RANDOM],
  ['DescribePCR', { type: 'DescribePCR', index: 3 }, `a1 ${DESCRIBE_PCR} a1 ${INDEX} 03`],
  ['ExtendPCR', { type: 'ExtendPCR', index: 16, data: new Uint8Array([1, 2]) }, `a1 ${EXTEND_PCR} a2 ${INDEX} 10 ${DATA} 42 0102`],
  ['LockPCR', { type: 'LockPCR', index: 16 }, `a1 ${LOCK_PCR} a1 ${INDEX} 10`],
  ['LockPCRs', { type: 'LockPCRs', range: 20 }, `a1 ${LOCK_PCRS} a1 65 72616e6765 14`],
  [
    'Attestation with nonce only',
    { type: 'Attestation', userData: null, nonce: new Uint8Array([0xaa]), publicKey: null },
    `a1 ${ATTESTATION} a3 69 757365725f64617461 f6 65 6e6f6e6365 41 aa 6a 7075626c69635f6b6579 f6`,
  ],
  [
    'Attestation with every field',
    { type: 'Attestation', userData: new Uint8Array([1]), nonce: new Uint8Array(0), publicKey: new Uint8Array([2, 3]) },
    `a1 ${ATTESTATION} a3 69 757365725f64617461 41 01 65 6e6f6e6365 40 6a 7075626c69635f6b6579 42 0203`,
  ],
];

const responses: Array<[string, NsmResponse, string]> = [
  ['LockPCR', { type: 'LockPCR' }, LOCK_PCR],
  ['LockPCRs', { type: 'LockPCRs' }, LOCK_PCRS],
  ['DescribePCR', { type: 'DescribePCR', lock: true, data: pcr48 }, `a1 ${DESCRIBE_PCR} a2 64 6c6f636b f5 ${DATA} ${PCR48_HEX}`],
  ['ExtendPCR', { type: 'ExtendPCR', data: pcr48 }, `a1 ${EXTEND_PCR} a1 ${DATA} ${PCR48_HEX}`],
  ['Attestation', { type: 'Attestation', document: new Uint8Array([1, 2]) }, `a1 ${ATTESTATION} a1 68 646f63756d656e74 42 0102`],
  ['GetRandom', { type: 'GetRandom', random: new Uint8Array([9]) }, `a1 ${GET_RANDOM} a1 66 72616e646f6d 41 09`],
  [
    'DescribeNSM',
    { type: 'DescribeNSM', versionMajor: 1, versionMinor: 0, versionPatch: 0, moduleId: 'i-1', maxPcrs: 32, lockedPcrs: [0, 1], digest: 'SHA384' },
    `a1 ${DESCRIBE_NSM} a7
      6d 76657273696f6e5f6d616a6f72 01
      6d 76657273696f6e5f6d696e6f72 00
      6d 76657273696f6e5f7061746368 00
      69 6d6f64756c655f6964 63 692d31
      68 6d61785f70637273 18 20
      6b 6c6f636b65645f70637273 82 00 01
      66 646967657374 66 534841333834`,
  ],
  ['Error', { type: 'Error', error: 'ReadOnlyIndex' }, `a1 65 4572726f72 6d 526561644f6e6c79496e646578`],
  ['Error InputTooLarge', { type: 'Error', error: 'InputTooLarge' }, `a1 65 4572726f72 6d 496e707574546f6f4c61726765`],
];

describe('NSM codec against hand-written serde bytes', () => {
  it.each(requests)('request %s', (_n, request, bytes) => {
    expect(Buffer.from(encodeNsmRequest(request)).toString('hex')).toBe(bytes.replace(/\s+/g, ''));
    expect(decodeNsmRequest(hex(bytes))).toEqual(request);
  });

  it.each(responses)('response %s', (_n, response, bytes) => {
    expect(Buffer.from(encodeNsmResponse(response)).toString('hex')).toBe(bytes.replace(/\s+/g, ''));
    expect(decodeNsmResponse(hex(bytes))).toEqual(response);
  });

  it('DescribeNSM locked_pcrs go out sorted, as the BTreeSet does', () => {
    const bytes = encodeNsmResponse({
      type: 'DescribeNSM',
      versionMajor: 1,
      versionMinor: 0,
      versionPatch: 0,
      moduleId: 'm',
      maxPcrs: 32,
      lockedPcrs: [3, 1, 2],
      digest: 'SHA384',
    });
    expect(decodeNsmResponse(bytes)).toMatchObject({ lockedPcrs: [1, 2, 3] });
  });

  it.each([
    ['an unknown variant', `a1 65 48656c6c6f 01`],
    ['an unknown unit variant', `65 48656c6c6f`],
    ['a unit variant given fields', `a1 ${LOCK_PCR} a0`],
    ['a missing field', `a1 ${DESCRIBE_PCR} a1 ${DATA} 41 00`],
    ['an extra field', `a1 ${ATTESTATION} a1 65 6f74686572 01`],
    ['a wrongly typed field', `a1 ${ATTESTATION} a1 68 646f63756d656e74 62 6869`],
    ['a two-entry variant map', `a2 ${LOCK_PCR} 01 ${LOCK_PCRS} 02`],
    ['an unknown error name', `a1 65 4572726f72 63 666f6f`],
    ['an integer at the top', `01`],
    ['a truncated message', `a1 ${ATTESTATION} a1 68 646f63756d656e74 42 01`],
    ['trailing bytes', `${LOCK_PCR} 00`],
  ])('refuses %s with ERR_NSM_PROTOCOL', (_n, bytes) => {
    expect(() => decodeNsmResponse(hex(bytes))).toThrow(NsmError);
    expect(() => decodeNsmResponse(hex(bytes))).toThrow(expect.objectContaining({ code: 'ERR_NSM_PROTOCOL' }));
  });

  it('refuses a u16 out of range and a response over the device buffer', () => {
    expect(() => decodeNsmRequest(hex(`a1 ${LOCK_PCR} a1 ${INDEX} 1a 00010000`))).toThrow(expect.objectContaining({ code: 'ERR_NSM_PROTOCOL' }));
    const big = encodeNsmResponse({ type: 'Attestation', document: new Uint8Array(0x3000) });
    expect(() => decodeNsmResponse(big)).toThrow(expect.objectContaining({ code: 'ERR_NSM_PROTOCOL' }));
  });
});
