/** The dashboard's only way to the server: the public REST API with the session's Bearer key. */
import { navigate } from './router';
import { clearApiKey, getApiKey } from './session';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, message: string, code: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The request field the server blamed (`details.field`), if any. */
  get field(): string | undefined {
    const field = this.details?.field;
    return typeof field === 'string' ? field : undefined;
  }
}

interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Use this key instead of the session's (sign-in checks a key before keeping it). */
  apiKey?: string;
}

export async function apiRequest<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.apiKey ?? getApiKey();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server could not be reached. Check that Runhook is running.', 'NETWORK_ERROR');
  }

  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const body = (data ?? {}) as { error?: unknown; code?: unknown; details?: unknown };
    const message =
      typeof body.error === 'string'
        ? body.error
        : `The server answered ${response.status} ${response.statusText}`;
    const code = typeof body.code === 'string' ? body.code : `HTTP_${response.status}`;
    const details =
      body.details && typeof body.details === 'object'
        ? (body.details as Record<string, unknown>)
        : undefined;
    const error = new ApiError(response.status, message, code, details);
    if (response.status === 401 && options.apiKey === undefined) signOut('expired');
    throw error;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => apiRequest<T>('GET', path, { signal }),
  post: <T>(path: string, body?: unknown) => apiRequest<T>('POST', path, { body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => apiRequest<T>('PATCH', path, { body }),
  put: <T>(path: string, body: unknown) => apiRequest<T>('PUT', path, { body }),
  delete: (path: string) => apiRequest<null>('DELETE', path),
};

/** Forgets the key and goes to the sign-in screen, remembering where the user was. */
export function signOut(reason?: 'expired'): void {
  clearApiKey();
  // Several requests of one screen may fail at once; the first one already went to sign-in.
  if (window.location.pathname === '/login') return;
  const here = window.location.pathname + window.location.search;
  const next = here;
  const params = new URLSearchParams();
  if (next && next !== '/') params.set('next', next);
  if (reason) params.set('reason', reason);
  const query = params.toString();
  navigate(query ? `/login?${query}` : '/login', { replace: reason === 'expired' });
}

/** A message fit to show for anything thrown by a request. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
