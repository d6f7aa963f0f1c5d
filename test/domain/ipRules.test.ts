import { describe, expect, it } from 'vitest';
import {
  forbiddenAddressReason,
  isAddressAllowed,
  isForbiddenAddress,
  parseCidrList,
} from '../../src/domain/ipRules.js';

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.1', 'documentation'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique local (private)'],
    ['fd12:3456::1', 'unique local (private)'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['100::1', 'discard-only'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::FFFF:169.254.169.254', 'IPv4-mapped link-local'],
    ['::ffff:a00:1', 'IPv4-mapped private'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback'],
    ['64:ff9b::7f00:1', 'NAT64 loopback'],
    ['64:ff9b::10.0.0.1', 'NAT64 private'],
    ['64:ff9b:1::5db8:d822', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 loopback'],
    ['2002:c0a8:101::1', '6to4 private'],
    // Teredo: client 127.0.0.1 stored inverted as 80ff:fffe.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo loopback'],
    ['::127.0.0.1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['2001:20::1', 'IETF protocol assignment'],
    ['', 'not an IP address'],
    ['example.com', 'not an IP address'],
    ['127.1', 'not an IP address'],
    ['0x7f.0.0.1', 'not an IP address'],
    ['2130706433', 'not an IP address'],
    ['010.0.0.1', 'not an IP address'],
    ['256.1.1.1', 'not an IP address'],
    ['1.2.3', 'not an IP address'],
    ['::ffff:127.0.0.1:80', 'not an IP address'],
    ['127.0.0.1/8', 'not an IP address'],
  ])('%s is forbidden (%s)', (ip, reason) => {
    expect(isForbiddenAddress(ip)).toBe(true);
    expect(forbiddenAddressReason(ip)).toBe(reason);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '100.63.255.255',
    '192.169.0.1',
    '198.20.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '[2606:4700:4700::1111]',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '64:ff9b::5db8:d822',
    '2002:5db8:d822::1',
    // Teredo: client 93.184.216.34 stored inverted as a247:27dd.
    '2001:0:4136:e378:8000:63bf:a247:27dd',
  ])('%s is globally routable', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
    expect(forbiddenAddressReason(ip)).toBeNull();
  });
});

describe('parseCidrList', () => {
  it.each([
    ['', []],
    ['  ', []],
    ['127.0.0.0/8', ['127.0.0.0/8']],
    ['127.0.0.0/8,::1/128', ['127.0.0.0/8', '::1/128']],
    [' 10.0.0.0/8 , 192.168.1.7 ,fd00::/8,', ['10.0.0.0/8', '192.168.1.7/32', 'fd00::/8']],
    ['::1', ['::1/128']],
    ['[::1]', ['::1/128']],
    ['::ffff:127.0.0.0/104', ['127.0.0.0/8']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
  ])('%j → %j', (text, cidrs) => {
    expect(parseCidrList(text).map((cidr) => cidr.text)).toEqual(cidrs);
  });

  it.each([
    ['127.0.0.0/33', /"127.0.0.0\/33".*prefix length/],
    ['::1/129', /"::1\/129"/],
    ['127.0.0.0/', /"127.0.0.0\/"/],
    ['127.0.0.0/x', /"127.0.0.0\/x"/],
    ['127.0.0.0/-1', /"127.0.0.0\/-1"/],
    ['10.0.0.0/8,localhost', /"localhost"/],
    ['127.1/8', /"127.1\/8"/],
    ['300.0.0.0/8', /"300.0.0.0\/8"/],
    ['fe80::1%eth0', /"fe80::1%eth0"/],
  ])('%j throws naming the entry', (text, message) => {
    expect(() => parseCidrList(text)).toThrow(message);
  });
});

describe('isAddressAllowed', () => {
  it.each([
    ['127.0.0.1', '', false],
    ['127.0.0.1', '127.0.0.0/8', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.2', '127.0.0.1', false],
    ['::ffff:127.0.0.1', '127.0.0.0/8', true],
    ['::ffff:7f00:1', '127.0.0.0/8', true],
    ['127.0.0.1', '::ffff:127.0.0.0/104', true],
    ['::1', '127.0.0.0/8', false],
    ['::1', '127.0.0.0/8,::1/128', true],
    ['10.1.2.3', '10.0.0.0/16', false],
    ['10.0.2.3', '10.0.0.0/16', true],
    ['fd00::5', 'fd00::/8', true],
    ['fe80::1', 'fd00::/8', false],
    ['93.184.216.34', '', true],
    ['93.184.216.34', '10.0.0.0/8', true],
    ['2606:4700:4700::1111', '', true],
    ['not an ip', '0.0.0.0/0', false],
    ['64:ff9b::7f00:1', '127.0.0.0/8', false],
  ])('%s with allowlist %j → %s', (ip, list, allowed) => {
    expect(isAddressAllowed(ip, parseCidrList(list))).toBe(allowed);
  });
});

describe('IPv4-compatible form', () => {
  it.each([
    ['::127.0.0.1', 'reserved'],
    ['::93.184.216.34', 'reserved'],
    ['::ffff:93.184.216.34', null],
  ])('%s → %j', (ip, reason) => {
    expect(forbiddenAddressReason(ip)).toBe(reason);
  });
});
