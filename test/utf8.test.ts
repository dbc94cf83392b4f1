// The plain-JS UTF-8 used where a host has no TextDecoder/TextEncoder (JavaScriptCore's shell)
// must accept, reject and decode exactly as TextDecoder's fatal mode and TextEncoder do.
import { describe, it, expect } from 'vitest';
import { decodeUtf8Strict, encodeUtf8Plain } from '../build/formats/safetensors.js';

const native = (b: Uint8Array) => {
  try { return new TextDecoder('utf-8', { fatal: true }).decode(b); } catch { return null; }
};
const plain = (b: Uint8Array) => {
  try { return decodeUtf8Strict(b); } catch { return null; }
};

describe('plain-JS UTF-8', () => {
  it('decodes like TextDecoder (fatal) on edge sequences and 50 000 random ones', () => {
    const edges = [
      [], [0x41], [0xef, 0xbb, 0xbf, 0x41], [0xc0, 0x80], [0xc1, 0xbf], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80],
      [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0x80], [0xe2, 0x82], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80],
    ];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const cases = edges.map((e) => Uint8Array.from(e));
    for (let i = 0; i < 50_000; i++) {
      const len = next() % 9;
      // Mostly bytes from the interesting ranges, so that valid multi-byte sequences occur too.
      cases.push(Uint8Array.from({ length: len }, () => { const r = next() % 4; return r === 0 ? next() % 0x80 : r === 1 ? 0x80 + next() % 0x40 : 0xc0 + next() % 0x40; }));
    }
    let valid = 0;
    for (const c of cases) {
      expect(plain(c), `bytes ${Array.from(c)}`).toBe(native(c));
      if (native(c) !== null) valid++;
    }
    expect(valid).toBeGreaterThan(5000);
  });

  it('encodes like TextEncoder, lone surrogates included', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', '\ud83d\ude00x', '{"name":"ünïcødé"}']) {
      expect(Array.from(encodeUtf8Plain(s))).toEqual(Array.from(new TextEncoder().encode(s)));
    }
  });
});
