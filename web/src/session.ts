// The API key lives in sessionStorage only: it is gone when the tab closes or on sign-out.
const STORAGE_KEY = 'runhook.apiKey';

export function getApiKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string): void {
  window.sessionStorage.setItem(STORAGE_KEY, key);
}

export function clearApiKey(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}
