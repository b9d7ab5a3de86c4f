import { describe, expect, it } from 'vitest';
import { createMasker, EMPTY_MASKER, MASK, MIN_SECRET_LENGTH, type Masker } from '../src/crypto/redact';

const masker = (secrets: Record<string, string>): Masker => createMasker(new Map(Object.entries(secrets)));

const utf8Binary = (text: string): string => String.fromCharCode(...new TextEncoder().encode(text));
const base64 = (text: string): string => btoa(utf8Binary(text));
const base64Url = (text: string): string => base64(text).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** Counts non-overlapping occurrences of `needle`. */
const count = (haystack: string, needle: string): number => haystack.split(needle).length - 1;

/**
 * Everything an attacker gets by base64-decoding what is still visible: each
 * run of base64 characters between masks, decoded at each of the 4 alignments,
 * in both alphabets, as a binary string.
 */
function decodedFragments(text: string): string[] {
  const decoded: string[] = [];
  for (const run of text.match(/[A-Za-z0-9+/_-]+/g) ?? []) {
    const standard = run.replace(/-/g, '+').replace(/_/g, '/');
    for (let shift = 0; shift < 4; shift++) {
      const aligned = standard.slice(shift);
      // atob needs no padding, but cannot decode a lone trailing character.
      decoded.push(atob(aligned.length % 4 === 1 ? aligned.slice(0, -1) : aligned));
    }
  }
  return decoded;
}

const revealsSecret = (text: string, secret: string): boolean =>
  decodedFragments(text).some((fragment) => fragment.includes(utf8Binary(secret)));

describe('raw secret', () => {
  const m = masker({ API_KEY: 'sk_live_4f9Qz' });

  it('is masked wherever it occurs, including inside a longer word', () => {
    expect(m.mask('key=sk_live_4f9Qz;')).toBe(`key=${MASK};`);
    expect(m.mask('xxsk_live_4f9Qzyy')).toBe(`xx${MASK}yy`);
    expect(m.mask('sk_live_4f9Qz and sk_live_4f9Qz')).toBe(`${MASK} and ${MASK}`);
  });

  it('leaves text without the secret unchanged', () => {
    // (String identity is not observable in JS; `maskValue` below checks object identity.)
    const text = ['clean', 'text', 'sk_live'].join(' ');
    expect(m.mask(text)).toBe(text);
    expect(m.mask('sk_live_4f9Q')).toBe('sk_live_4f9Q'); // a prefix alone is not the secret
  });
});

describe('base64 forms', () => {
  // Its base64 contains both `+` and `/`, and two `=` of padding.
  const secret = 'tok~??>>~a';
  const m = masker({ TOKEN: secret });

  it('masks standard base64 with padding, without padding, and url-safe base64', () => {
    expect(base64(secret)).toBe('dG9rfj8/Pj5+YQ==');
    expect(m.mask(`a ${base64(secret)} b`)).toBe(`a ${MASK} b`);
    expect(m.mask(`a ${base64(secret).replace(/=+$/, '')} b`)).toBe(`a ${MASK} b`);
    expect(m.mask(`a ${base64Url(secret)} b`)).toBe(`a ${MASK} b`);
  });

  it('does not use embedded cores shorter than 6 characters, which ordinary text could contain', () => {
    // For a 4-byte secret at offset 1, the stable core is only 4 characters long.
    expect(base64('\0abcd').slice(2, 6)).toBe('FiY2');
    const short = masker({ K: 'abcd' });
    expect(short.mask('id FiY2')).toBe('id FiY2');
    expect(short.mask(base64('abcd'))).toBe(MASK);
  });

  it('masks base64 that travels percent-encoded or with JSON-escaped slashes', () => {
    expect(m.mask(`?t=${encodeURIComponent(base64(secret))}&x=1`)).toBe(`?t=${MASK}&x=1`);
    expect(m.mask(`{"t":"${base64(secret).replace(/\//g, '\\/')}"}`)).toBe(`{"t":"${MASK}"}`);
  });
});

describe('base64 with the secret embedded (Basic auth)', () => {
  // Lengths 9, 10, 11: each remainder mod 3, so every way a core can end.
  const secrets = ['Zq7-kP2wX', 'Zq7-kP2wXy', 'Zq7-kP2wXyz'];
  // Prefixes of 2, 3, 4 and 5 bytes put the secret at each offset in a 3-byte group.
  const prefixes = ['u:', 'us:', 'use:', 'user:'];

  for (const secret of secrets) {
    const m = masker({ PASSWORD: secret });
    for (const prefix of prefixes) {
      it(`hides ${secret.length} bytes after "${prefix}" from base64 decoding`, () => {
        const header = `Authorization: Basic ${base64(prefix + secret)}`;
        expect(revealsSecret(header, secret)).toBe(true); // the check can see an unmasked secret
        const masked = m.mask(header);
        expect(masked).toContain(MASK);
        expect(masked.startsWith('Authorization: Basic ')).toBe(true);
        expect(revealsSecret(masked, secret)).toBe(false);
      });
    }
    for (const suffix of [':x', ':password']) {
      it(`hides ${secret.length} bytes before "${suffix}" from base64 decoding`, () => {
        const header = `Authorization: Basic ${base64(secret + suffix)}`;
        expect(revealsSecret(header, secret)).toBe(true);
        const masked = m.mask(header);
        expect(masked).toContain(MASK);
        expect(revealsSecret(masked, secret)).toBe(false);
      });
    }
  }

  it('masks the embedded secret in url-safe base64 too', () => {
    const secret = 'tok~??>>~a-long';
    const encoded = base64Url(`user:${secret}`);
    const masked = masker({ T: secret }).mask(encoded);
    expect(masked).toContain(MASK);
    expect(revealsSecret(masked, secret)).toBe(false);
  });
});

describe('URL-encoded forms', () => {
  const secret = 'p@ss w/rd&más~!(x)';
  const m = masker({ PASSWORD: secret });
  const forms = {
    encodeURIComponent: encodeURIComponent(secret),
    'spaces as +': encodeURIComponent(secret).replace(/%20/g, '+'),
    URLSearchParams: new URLSearchParams({ v: secret }).toString().slice(2),
    encodeURI: encodeURI(secret),
  };

  for (const [name, form] of Object.entries(forms)) {
    it(`masks ${name}, with upper- and lower-case hex escapes`, () => {
      const lower = form.replace(/%[0-9A-F]{2}/g, (percentEscape) => percentEscape.toLowerCase());
      expect(form).not.toBe(secret);
      expect(lower).not.toBe(form);
      expect(m.mask(`https://x.test/?q=${form}&z=1`)).toBe(`https://x.test/?q=${MASK}&z=1`);
      expect(m.mask(`https://x.test/?q=${lower}&z=1`)).toBe(`https://x.test/?q=${MASK}&z=1`);
    });
  }
});

describe('a secret with quotes, backslash, slash, space, newline and non-ASCII', () => {
  const secret = 'p"a\\s/s w\nrdé😀!';
  const m = masker({ NASTY: secret });

  it('is masked raw', () => {
    expect(m.mask(`before ${secret} after`)).toBe(`before ${MASK} after`);
  });

  it('is masked inside serialized JSON', () => {
    const json = JSON.stringify({ key: secret, n: 1 });
    expect(json).not.toContain(secret);
    expect(m.mask(json)).toBe(`{"key":"${MASK}","n":1}`);
  });

  it('is masked in JSON with `\\/` and with \\uXXXX escapes in either case', () => {
    const plain = JSON.stringify({ key: secret });
    const slashes = plain.replace(/\//g, '\\/');
    const unicodeEscaped = (text: string, upper: boolean) =>
      text.replace(/[^\x00-\x7f]/g, (unit) => {
        const hex = unit.charCodeAt(0).toString(16).padStart(4, '0');
        return `\\u${upper ? hex.toUpperCase() : hex}`;
      });
    for (const json of [slashes, unicodeEscaped(plain, false), unicodeEscaped(plain, true), unicodeEscaped(slashes, false)]) {
      expect(JSON.parse(json)).toEqual({ key: secret }); // still JSON for that secret
      expect(m.mask(json)).toBe(`{"key":"${MASK}"}`);
    }
  });

  it('is masked percent-encoded, form-encoded and in base64 of its UTF-8', () => {
    expect(m.mask(`q=${encodeURIComponent(secret)}`)).toBe(`q=${MASK}`);
    expect(m.mask(new URLSearchParams({ q: secret }).toString())).toBe(`q=${MASK}`);
    expect(m.mask(`q=${encodeURI(secret)}`)).toBe(`q=${MASK}`);
    expect(m.mask(`b=${base64(secret)}`)).toBe(`b=${MASK}`);
    const masked = m.mask(base64(`user:${secret}`));
    expect(revealsSecret(masked, secret)).toBe(false);
  });
});

describe('overlapping and adjacent matches', () => {
  it('masks the union of two overlapping secrets as one range', () => {
    const m = masker({ A: 'abcdef12', B: 'ef12gh34' });
    expect(m.mask('abcdef12gh34')).toBe(MASK);
    expect(m.mask('<abcdef12gh34>')).toBe(`<${MASK}>`);
    expect(m.mask('<ef12gh34abcdef12>')).toBe(`<${MASK}>`); // adjacent
  });

  it('masks a secret that overlaps itself', () => {
    const m = masker({ A: 'abab' });
    expect(m.mask('xababababy')).toBe(`x${MASK}y`);
  });

  it('lets a long match swallow shorter ranges found before it', () => {
    const m = masker({ A: 'bcde', B: 'ghij', C: 'abcdefghijk' });
    expect(m.mask('xbcdeyghijz')).toBe(`x${MASK}y${MASK}z`);
    expect(m.mask('abcdefghijk')).toBe(MASK);
    expect(m.mask('-abcdefghijk-bcde')).toBe(`-${MASK}-${MASK}`);
  });

  it('masks a secret contained in another', () => {
    const m = masker({ LONG: 'password123', SHORT: 'word' });
    expect(m.mask('my password123! and word')).toBe(`my ${MASK}! and ${MASK}`);
  });

  it('masks exactly the union of all occurrences (randomized, against a naive reference)', () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const word = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    for (let round = 0; round < 300; round++) {
      const secrets = Array.from({ length: 1 + random(5) }, () => word('ab', 4 + random(5)));
      const m = createMasker(new Map(secrets.map((value, i) => [`S${i}`, value])));
      const text = Array.from({ length: 8 }, () => (random(2) === 0 ? word('abx', random(6)) : secrets[random(secrets.length)]!)).join('');
      expect(m.mask(text)).toBe(naiveMask(text, secrets));
    }
  });
});

/** Marks every occurrence of every secret, then replaces each maximal marked run by MASK. */
function naiveMask(text: string, secrets: string[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const secret of secrets) {
    for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
      covered.fill(true, at, at + secret.length);
    }
  }
  return text.replace(/[\s\S]/g, (char, at: number) => (covered[at] ? '\0' : char)).replace(/\0+/g, MASK);
}

describe('maskValue', () => {
  const S = 'Sup3rS3cret';
  const m = masker({ S });

  it('masks strings and keys at every level of nested JSON, leaving other leaves alone', () => {
    const input = {
      runs: [{ [`key-${S}`]: `value ${S}`, n: 42, ok: true, none: null, list: ['clean', `x${S}y`] }],
      meta: { deep: { deeper: [S, { [S]: 1 }] } },
      clean: { a: 1, b: [2, 'three'] },
    };
    const before = structuredClone(input);
    const output = m.maskValue(input);
    expect(output).toEqual({
      runs: [{ 'key-***': 'value ***', n: 42, ok: true, none: null, list: ['clean', 'x***y'] }],
      meta: { deep: { deeper: [MASK, { [MASK]: 1 }] } },
      clean: { a: 1, b: [2, 'three'] },
    });
    expect(input).toEqual(before); // the input is not mutated
    expect(output).not.toBe(input);
    expect(output.clean).not.toBe(input.clean); // a deep copy, untouched parts included
    expect(output.clean.b).not.toBe(input.clean.b);
  });

  it('masks encoded forms inside values', () => {
    const { auth } = m.maskValue({ auth: `Basic ${base64(`user:${S}`)}` });
    expect(auth).toContain(MASK);
    expect(revealsSecret(auth, S)).toBe(false);
    expect(m.maskValue([`q=${encodeURIComponent(S)}`, base64(S)])).toEqual([`q=${MASK}`, MASK]);
  });

  it('returns the input itself when nothing matched', () => {
    const clean = { a: [1, 'two', { three: null }], b: 'four' };
    expect(m.maskValue(clean)).toBe(clean);
    expect(m.maskValue('plain')).toBe('plain');
    expect(m.maskValue(7)).toBe(7);
    expect(m.maskValue(null)).toBe(null);
    expect(m.maskValue(S)).toBe(MASK);
  });

  it('replaces containers deeper than 64 levels by "[too deep]"', () => {
    let value: unknown = S;
    for (let i = 0; i < 100; i++) value = [value];
    let output = m.maskValue(value);
    let levels = 0;
    while (Array.isArray(output)) {
      expect(output).toHaveLength(1);
      output = output[0];
      levels++;
    }
    expect(levels).toBe(64);
    expect(output).toBe('[too deep]');
    // Deep but clean input is still copied, since it changes.
    let clean: unknown = 'x';
    for (let i = 0; i < 100; i++) clean = { next: clean };
    expect(m.maskValue(clean)).not.toBe(clean);
  });

  it('terminates on circular and heavily shared references', () => {
    const circular: Record<string, unknown> = { s: S };
    circular.self = circular;
    circular.again = circular;
    expect(m.maskValue(circular)).toEqual({ s: MASK, self: '[circular]', again: '[circular]' });

    // 2^60 paths to the leaf if every path were walked.
    let shared: unknown = `leaf ${S}`;
    for (let i = 0; i < 60; i++) shared = { left: shared, right: shared };
    let output = m.maskValue(shared) as { left: unknown; right: unknown } | string;
    for (let i = 0; i < 60 && typeof output !== 'string'; i++) output = output.right as typeof output;
    expect(output).toBe(`leaf ${MASK}`);
  });

  it('does not walk prototypes and stringifies objects that are not plain', () => {
    class Credentials {
      constructor(readonly token: string) {}
      toString() {
        return `Credentials(${this.token})`;
      }
    }
    const inherited = Object.create({ hidden: S }) as object;
    const output = m.maskValue({
      creds: new Credentials(S),
      inherited,
      date: new Date(0),
      map: new Map([[S, S]]),
    });
    expect(output).toEqual({
      creds: `Credentials(${MASK})`,
      inherited: '[object Object]',
      date: String(new Date(0)),
      map: '[object Map]',
    });
  });

  it('keeps a "__proto__" key as data and masks it', () => {
    const input = JSON.parse(`{"__proto__": {"polluted": "${S}"}}`) as object;
    const output = m.maskValue(input);
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(output, '__proto__')?.value).toEqual({ polluted: MASK });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('secretsIn', () => {
  const m = masker({ zeta: 'zzzz-secret', alpha: 'aaaa-secret', mid: 'mmmm-secret', twin: 'aaaa-secret' });

  it('names the secrets any form of which occurs, sorted and unique', () => {
    const text = `zzzz-secret ${base64('aaaa-secret')} zzzz-secret ${encodeURIComponent('zzzz-secret')}`;
    expect(m.secretsIn(text)).toEqual(['alpha', 'twin', 'zeta']);
  });

  it('finds a secret embedded in Basic auth', () => {
    expect(m.secretsIn(`Basic ${base64('user:mmmm-secret')}`)).toEqual(['mid']);
  });

  it('names both secrets of an overlap or of a secret inside another, and none in clean text', () => {
    const overlapping = masker({ B: 'ef12gh34', A: 'abcdef12' });
    expect(overlapping.secretsIn('abcdef12gh34')).toEqual(['A', 'B']);
    const nested = masker({ SHORT: 'word', LONG: 'password123' });
    expect(nested.secretsIn('my password123!')).toEqual(['LONG', 'SHORT']);
    expect(nested.secretsIn('my password!')).toEqual(['SHORT']);
    expect(m.secretsIn('nothing to see here')).toEqual([]);
  });
});

describe('empty masker', () => {
  it('is the identity', () => {
    const text = 'anything at all';
    const value = { a: [1, 'b'] };
    expect(EMPTY_MASKER.isEmpty).toBe(true);
    expect(EMPTY_MASKER.mask(text)).toBe(text);
    expect(EMPTY_MASKER.maskValue(value)).toBe(value);
    expect(EMPTY_MASKER.secretsIn(text)).toEqual([]);
  });

  it('is what a masker without usable secrets is', () => {
    expect(createMasker(new Map()).isEmpty).toBe(true);
    const short = 'x'.repeat(MIN_SECRET_LENGTH - 1);
    const onlyShort = masker({ SHORT: short });
    expect(onlyShort.isEmpty).toBe(true);
    expect(onlyShort.mask(`a ${short} b`)).toBe(`a ${short} b`);
    const minimal = masker({ OK: 'y'.repeat(MIN_SECRET_LENGTH) });
    expect(minimal.isEmpty).toBe(false);
    expect(minimal.mask('a yyyy b')).toBe(`a ${MASK} b`);
  });
});

describe('large inputs', () => {
  it('masks every occurrence of 10 secrets scattered through 1 MB', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const secrets = Array.from(
      { length: 10 },
      (_, i) => `sk_${i}_${Array.from({ length: 24 + i }, () => alphabet[random(alphabet.length)]).join('')}`,
    );
    const words = 'the quick fox {"id": 1234, "url": "https://cdn.example.com/a?b=1"} status ok retry'.split(' ');
    const parts: string[] = [];
    let length = 0;
    let planted = 0;
    while (length < 1024 * 1024) {
      let part = words[random(words.length)]!;
      if (random(500) === 0) {
        const secret = secrets[random(secrets.length)]!;
        part = [secret, base64(secret), encodeURIComponent(`${secret}?`), `x${secret}y`][random(4)]!;
        planted++;
      }
      parts.push(part);
      length += part.length + 1;
    }
    const text = parts.join(' ');
    expect(text).not.toContain(MASK);
    expect(planted).toBeGreaterThan(100);

    const masked = masker(Object.fromEntries(secrets.map((secret, i) => [`S${i}`, secret]))).mask(text);
    for (const secret of secrets) {
      expect(masked).not.toContain(secret);
      expect(masked).not.toContain(base64(secret).slice(0, 20));
    }
    expect(count(masked, MASK)).toBe(planted);
  });

  it('stays correct when many secrets over a wide alphabet bound the dense table', () => {
    // 20 secrets of 200 distinct CJK characters each: thousands of alphabet classes, so most
    // states take the memory-bounded path that follows trie edges and failure links.
    const secrets = Array.from({ length: 20 }, (_, s) =>
      Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x4e00 + s * 200 + i)).join(''),
    );
    const m = masker(Object.fromEntries(secrets.map((secret, i) => [`S${i}`, secret])));
    const third = secrets[3]!;
    const escaped = JSON.stringify(third).replace(/[^\x00-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16)}`);
    expect(m.mask(`a ${third} b`)).toBe(`a ${MASK} b`);
    expect(m.mask(`a ${third.slice(0, 150)}${secrets[4]} b`)).toBe(`a ${third.slice(0, 150)}${MASK} b`);
    expect(m.mask(`q=${encodeURIComponent(third)}&`)).toBe(`q=${MASK}&`);
    expect(m.mask(`{"k":${escaped}}`)).toBe(`{"k":"${MASK}"}`);
    expect(revealsSecret(m.mask(base64(`user:${third}`)), third)).toBe(false);
    expect(m.secretsIn(`${secrets[19]} ${base64(secrets[0]!)}`)).toEqual(['S0', 'S19']);
  });
});

describe('trimPartial: text cut at a limit shows no start of a secret at its edge', () => {
  const secret = 'tok-9f8e7d6c5b4a3';
  const masker = createMasker(new Map([['k', secret]]));

  it('drops a tail that starts the secret, or one of its encodings, and nothing else', () => {
    for (let length = 1; length < secret.length; length++) {
      expect(masker.trimPartial(`before ${secret.slice(0, length)}`)).toBe('before ');
    }
    const base64 = btoa(secret);
    expect(masker.trimPartial(`x ${base64.slice(0, 10)}`)).toBe('x ');
    expect(masker.trimPartial('plain words, nothing here.')).toBe('plain words, nothing here.');
    expect(masker.trimPartial('a cut at the letter t')).toBe('a cut at the letter '); // even one character that starts the secret goes
    expect(masker.trimPartial(masker.mask(`a ${secret} b`))).toBe('a *** b');
    expect(EMPTY_MASKER.trimPartial('tok-9f8')).toBe('tok-9f8');
  });

  it('stays linear for a 64 KiB secret', () => {
    const long = `${'L'.repeat(64 * 1024 - 1)}z`;
    const big = createMasker(new Map([['big', long]]));
    const started = performance.now();
    expect(big.trimPartial(`head ${long.slice(0, 60_000)}`)).toBe('head ');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('forms an outside API may echo back (issue 15, finding 2)', () => {
  const secret = 'zq9+xy/Pk2é+Lm8';
  const masker = createMasker(new Map([['k', secret]]));
  const utf8 = new TextEncoder().encode(secret);
  const hex = [...utf8].map((b) => b.toString(16).padStart(2, '0')).join('');

  it.each([
    ['form-decoded (a + read as a space)', secret.replace(/\+/g, ' ')],
    ['upper-case', secret.toUpperCase()],
    ['hex, lower case', hex],
    ['hex, upper case', hex.toUpperCase()],
    ['UTF-8 read as Latin-1', String.fromCharCode(...utf8)],
    ['form-decoded, then JSON-escaped', JSON.stringify(secret.replace(/\+/g, ' ')).slice(1, -1)],
  ])('masks the %s form', (_name, form) => {
    expect(masker.mask(`before ${form} after`)).toBe('before *** after');
  });
});

describe('a secret of digits read back as a number (issue 15, finding 2)', () => {
  it.each([
    ['exponent form', '123456789012345678901234', Number('123456789012345678901234')],
    ['rounded, without exponent', '12345678901234567890', Number('12345678901234567890')],
    ['a decimal without its trailing zero', '31415926.50', 31415926.5],
  ])('masks the %s of the number, as text and as a JSON number', (_name, secret, parsed) => {
    const masker = createMasker(new Map([['k', secret]]));
    expect(masker.mask(`n=${String(parsed)} and ${String(parsed).toUpperCase()}`)).toBe('n=*** and ***');
    expect(masker.maskValue({ n: parsed })).toEqual({ n: '***' });
  });
});

describe('a 64 KiB secret with all its forms', () => {
  it('builds a masker and masks its hex form', () => {
    const value = 'é'.repeat(32 * 1024); // 64 KiB in UTF-8
    const big = createMasker(new Map([['big', value]]));
    const hex = 'c3a9'.repeat(32 * 1024);
    expect(big.mask(`x ${hex} y`)).toBe('x *** y');
  });
});
