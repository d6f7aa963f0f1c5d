import { describe, expect, it } from 'vitest';
import { parseCidrList } from '../../src/domain/ipRules.js';
import { checkHeaders, checkSecret, checkWebhookUrl, LIMITS } from '../../src/domain/validateWebhook.js';

const none = parseCidrList('');
const loopback = parseCidrList('127.0.0.0/8');

describe('checkWebhookUrl', () => {
  it.each([
    ['https://example.com/hook', none, 'example.com', null],
    ['http://example.com:8080/a?b=c#d', none, 'example.com', null],
    ['https://Example.COM./hook', none, 'example.com.', null],
    ['http://93.184.216.34', none, '93.184.216.34', '93.184.216.34'],
    ['https://[2606:4700:4700::1111]/hook', none, '2606:4700:4700::1111', '2606:4700:4700::1111'],
    ['http://127.0.0.1:9000/hook', loopback, '127.0.0.1', '127.0.0.1'],
    ['http://2130706433', loopback, '127.0.0.1', '127.0.0.1'],
    ['http://[::ffff:127.0.0.1]', loopback, '::ffff:7f00:1', '::ffff:7f00:1'],
    ['http://localhost:3000/hook', loopback, 'localhost', null],
    ['http://api.localhost', loopback, 'api.localhost', null],
    // A name that resolves to loopback is the caller's job (it resolves DNS).
    ['http://127.0.0.1.nip.io', none, '127.0.0.1.nip.io', null],
  ])('%s is ok', (url, allowed, hostname, literalAddress) => {
    expect(checkWebhookUrl(url, allowed)).toEqual({ ok: true, hostname, literalAddress });
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data', none, /169\.254\.169\.254 is link-local/],
    ['http://[::1]', none, /::1 is loopback/],
    ['http://[::1]', loopback, /::1 is loopback/],
    ['http://2130706433', none, /127\.0\.0\.1 is loopback/],
    ['http://0x7f.1', none, /127\.0\.0\.1 is loopback/],
    ['http://127.1', none, /127\.0\.0\.1 is loopback/],
    ['http://localhost', none, /localhost is loopback/],
    ['http://localhost.', none, /localhost\. is loopback/],
    ['http://LOCALHOST:8080', none, /localhost is loopback/],
    ['http://api.localhost', none, /api\.localhost is loopback/],
    ['http://api.localhost.', none, /api\.localhost\. is loopback/],
    ['http://[::ffff:127.0.0.1]', none, /::ffff:7f00:1 is IPv4-mapped loopback/],
    ['http://[::ffff:7f00:1]', none, /::ffff:7f00:1 is IPv4-mapped loopback/],
    ['http://10.0.0.1', none, /10\.0\.0\.1 is private/],
    ['http://10.0.0.1', loopback, /10\.0\.0\.1 is private/],
    ['http://192.168.0.10:8080', none, /private/],
    ['http://100.64.0.1', none, /100\.64\.0\.1 is carrier-grade NAT/],
    ['http://0.0.0.0', none, /0\.0\.0\.0 is unspecified/],
    ['http://[fe80::1]', none, /link-local/],
    ['http://[fd00::1]', none, /unique local/],
    ['ftp://example.com', none, /http or https, not ftp/],
    ['file:///etc/passwd', none, /http or https, not file/],
    ['javascript:alert(1)', none, /http or https/],
    ['http://user:pw@example.com', none, /user name or password/],
    ['http://user@example.com', none, /user name or password/],
    ['http://example.com:0/hook', none, /port must be between 1 and 65535/],
    ['https://example.com:00/', none, /port must be between 1 and 65535/],
    ['example.com/hook', none, /absolute http or https URL/],
    ['', none, /absolute http or https URL/],
    ['http://', none, /absolute http or https URL/],
    ['http://exa mple.com', none, /absolute http or https URL/],
    [`https://example.com/${'a'.repeat(LIMITS.url)}`, none, /at most 2048 characters/],
  ])('%s is refused (%s)', (url, allowed, message) => {
    const result = checkWebhookUrl(url, allowed);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem.field).toBe('url');
      expect(result.problem.message).toMatch(message);
    }
  });

  it('uses the wording users see for a refused address', () => {
    const result = checkWebhookUrl('http://127.0.0.1', none);
    expect(result).toEqual({
      ok: false,
      problem: {
        field: 'url',
        message:
          'url must not point to a private, loopback or link-local address (127.0.0.1 is loopback); ' +
          'to allow it, add its range to RUNHOOK_ALLOWED_CIDRS (e.g. 127.0.0.0/8,::1/128 for a receiver on this machine)',
      },
    });
  });

  it('accepts a URL exactly at the length limit', () => {
    const url = `https://example.com/${'a'.repeat(LIMITS.url - 'https://example.com/'.length)}`;
    expect(url.length).toBe(LIMITS.url);
    expect(checkWebhookUrl(url, none).ok).toBe(true);
  });
});

const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, 'v']));
const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-H${i}`, 'v']));

describe('checkHeaders', () => {
  it.each<[string, unknown]>([
    ['empty object', {}],
    ['ten headers', ten],
    ['authorization and custom', { Authorization: 'Bearer abc', 'X-Team': 'qa' }],
    ['token characters', { "X-A!#$%&'*+-.^_`|~9": 'v' }],
    ['empty value', { 'X-Empty': '' }],
    ['tab and Latin-1 in value', { 'X-V': 'a\tb é' }],
    ['value at the limit', { 'X-Long': 'a'.repeat(LIMITS.headerValue) }],
    ['name at the limit', { ['X'.repeat(LIMITS.headerName)]: 'v' }],
    ['near-reserved names', { 'X-Webhook-Id': 'v', Hostname: 'v', 'Content-Typo': 'v', Tea: 'v' }],
    ['null prototype', Object.assign(Object.create(null), { 'X-A': 'b' })],
  ])('%s is ok', (_label, headers) => {
    expect(checkHeaders(headers)).toBeNull();
  });

  it.each<[string, unknown, string, RegExp]>([
    ['not an object', 'X-A: b', 'headers', /must be an object/],
    ['null', null, 'headers', /must be an object/],
    ['an array', [['X-A', 'b']], 'headers', /must be an object/],
    ['a Map', new Map([['X-A', 'b']]), 'headers', /must be an object/],
    ['11 headers', eleven, 'headers', /at most 10/],
    ['Content-Type', { 'Content-Type': 'text/plain' }, 'headers.Content-Type', /cannot be set/],
    ['content-length', { 'content-length': '5' }, 'headers.content-length', /cannot be set/],
    ['Host', { HOST: 'evil' }, 'headers.HOST', /cannot be set/],
    ['User-Agent', { 'User-Agent': 'x' }, 'headers.User-Agent', /cannot be set/],
    ['webhook-id', { 'webhook-id': 'x' }, 'headers.webhook-id', /cannot be set/],
    ['Webhook-Signature', { 'Webhook-Signature': 'x' }, 'headers.Webhook-Signature', /cannot be set/],
    ['X-Runhook-Foo', { 'X-Runhook-Foo': 'x' }, 'headers.X-Runhook-Foo', /cannot be set/],
    ['X-Clix-Signature', { 'X-Clix-Signature': 'x' }, 'headers.X-Clix-Signature', /cannot be set/],
    ['Connection', { Connection: 'close' }, 'headers.Connection', /cannot be set/],
    ['Transfer-Encoding', { 'Transfer-Encoding': 'chunked' }, 'headers.Transfer-Encoding', /cannot be set/],
    ['Keep-Alive', { 'keep-alive': '5' }, 'headers.keep-alive', /cannot be set/],
    ['Upgrade', { Upgrade: 'h2c' }, 'headers.Upgrade', /cannot be set/],
    ['TE', { TE: 'trailers' }, 'headers.TE', /cannot be set/],
    ['Trailer', { Trailer: 'X' }, 'headers.Trailer', /cannot be set/],
    ['Proxy-Authorization', { 'Proxy-Authorization': 'x' }, 'headers.Proxy-Authorization', /cannot be set/],
    ['__proto__ (parsed JSON)', JSON.parse('{"__proto__":"v"}'), 'headers.__proto__', /cannot be used/],
    ['constructor', { constructor: 'v' }, 'headers.constructor', /cannot be used/],
    ['Prototype', { Prototype: 'v' }, 'headers.Prototype', /cannot be used/],
    ['CR LF in value', { 'X-A': 'b\r\nX-Injected: 1' }, 'headers.X-A', /CR, LF or NUL/],
    ['LF in value', { 'X-A': 'b\nc' }, 'headers.X-A', /CR, LF or NUL/],
    ['NUL in value', { 'X-A': 'b\0' }, 'headers.X-A', /CR, LF or NUL/],
    ['other control char', { 'X-A': 'b\x07' }, 'headers.X-A', /control characters/],
    ['beyond Latin-1', { 'X-A': '€' }, 'headers.X-A', /beyond Latin-1/],
    ['space in name', { 'X A': 'b' }, 'headers.X A', /header name may only contain/],
    ['colon in name', { 'X-A:': 'b' }, 'headers.X-A:', /header name may only contain/],
    ['non-ASCII name', { 'X-Ä': 'b' }, 'headers.X-Ä', /header name may only contain/],
    ['empty name', { '': 'b' }, 'headers.', /1 to 256/],
    ['long name', { ['X'.repeat(257)]: 'b' }, `headers.${'X'.repeat(257)}`, /1 to 256/],
    ['long value', { 'X-A': 'a'.repeat(4097) }, 'headers.X-A', /at most 4096/],
    ['number value', { 'X-A': 5 }, 'headers.X-A', /must be strings/],
    ['null value', { 'X-A': null }, 'headers.X-A', /must be strings/],
    ['case duplicates', { 'X-Team': 'a', 'x-team': 'b' }, 'headers.x-team', /twice \(also as X-Team\)/],
  ])('%s is refused', (_label, headers, field, message) => {
    const problem = checkHeaders(headers);
    expect(problem?.field).toBe(field);
    expect(problem?.message).toMatch(message);
  });
});

describe('checkSecret', () => {
  it.each([
    '12345678',
    'a'.repeat(256),
    'correct horse battery staple',
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    'whsec_aGVsbG8=',
    'whsec_aGk=',
    '€€€€€€€€',
  ])('%j is ok', (secret) => {
    expect(checkSecret(secret)).toBeNull();
  });

  it.each([
    ['', /8 to 256/],
    ['1234567', /8 to 256/],
    ['a'.repeat(257), /8 to 256/],
    ['whsec_', /8 to 256/],
    ['whsec_ab', /base64/],
    ['whpk_CMZ3xIumfXqAsEHEtKIra3/oc3c7T4gY6S2nRgfDYvw=', /whpk_/],
    ['whsec_not base64!', /base64/],
    ['whsec_aGVsbG8', /base64/],
    ['whsec_aGVsbG8===', /base64/],
    ['whsec_aGVs-G8_', /base64/],
  ])('%j is refused (%s)', (secret, message) => {
    expect(checkSecret(secret)?.field).toBe('secret');
    expect(checkSecret(secret)?.message).toMatch(message);
  });
});
