import { describe, expect, it } from 'vitest';
import { parseDuration, parseDurationList, parseIsoTime, toIso } from '../../src/domain/time.js';

describe('toIso', () => {
  it.each([
    [Date.UTC(2026, 0, 30, 10, 32, 45), '2026-01-30T10:32:45Z'],
    [Date.UTC(2026, 0, 30, 10, 32, 45, 999), '2026-01-30T10:32:45Z'],
    [0, '1970-01-01T00:00:00Z'],
    [-1, '1969-12-31T23:59:59Z'],
  ])('%i → %s', (ms, iso) => {
    expect(toIso(ms)).toBe(iso);
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2026-01-30T10:32:45Z', Date.UTC(2026, 0, 30, 10, 32, 45)],
    ['2026-01-30T10:32:45.123Z', Date.UTC(2026, 0, 30, 10, 32, 45, 123)],
    ['2026-01-30T10:32:45.1239999Z', Date.UTC(2026, 0, 30, 10, 32, 45, 123)],
    ['2026-01-30T10:32:45.5Z', Date.UTC(2026, 0, 30, 10, 32, 45, 500)],
    ['2026-01-30T12:32:45+02:00', Date.UTC(2026, 0, 30, 10, 32, 45)],
    ['2026-01-30T05:02:45-05:30', Date.UTC(2026, 0, 30, 10, 32, 45)],
    ['2026-01-30T10:32:45+0000', Date.UTC(2026, 0, 30, 10, 32, 45)],
    ['2026-01-30t10:32:45z', Date.UTC(2026, 0, 30, 10, 32, 45)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['0099-01-01T00:00:00Z', -59042995200000],
  ])('%s → %i', (text, ms) => {
    expect(parseIsoTime(text)).toBe(ms);
  });

  it.each([
    '',
    'yesterday',
    '2026-01-30',
    '2026-01-30T10:32:45',
    '2026-01-30 10:32:45Z',
    '2026-02-30T10:32:45Z',
    '2025-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-30T24:00:00Z',
    '2026-01-30T10:60:00Z',
    '2026-01-30T10:32:60Z',
    '2026-01-30T10:32:45+24:00',
    '2026-01-30T10:32:45.Z',
    ' 2026-01-30T10:32:45Z',
    '1769769165',
  ])('%j → null', (text) => {
    expect(parseIsoTime(text)).toBeNull();
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['30d', 2_592_000_000],
    ['1.5s', 1500],
    ['0.25m', 15_000],
    ['0s', 0],
    [' 15s ', 15_000],
    ['10 s', 10_000],
  ])('%j → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['-5s', /negative/],
    ['30', /no unit/],
    ['1.5', /no unit/],
    ['5w', /unknown unit "w"/],
    ['5 minutes', /unknown unit "minutes"/],
    ['s', /expected a number/],
    ['1e3s', /expected a number/],
    ['.5s', /expected a number/],
    ['1,5s', /expected a number/],
  ])('%j throws %s', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });
});

describe('parseDurationList', () => {
  it.each([
    ['1m,5m,30m', [60_000, 300_000, 1_800_000]],
    [' 1m , 5m ,30m ', [60_000, 300_000, 1_800_000]],
    ['500ms', [500]],
    ['', []],
    ['  ', []],
  ])('%j → %j', (text, list) => {
    expect(parseDurationList(text)).toEqual(list);
  });

  it.each([
    ['1m,,5m', /item 2 is empty/],
    ['1m,', /item 2 is empty/],
    ['1m,5x', /unknown unit "x"/],
    ['1m,-5m', /negative/],
  ])('%j throws %s', (text, message) => {
    expect(() => parseDurationList(text)).toThrow(message);
  });
});
