/** Kept equal to package.json's version by a test (test/version.test.ts). */
export const VERSION = '0.1.0';
export const USER_AGENT = `Runhook/${VERSION}`;
