import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.ts';
import { baseUriOf } from '../../../src/http/api/liveperson/domain.ts';

const request = (host: string) => ({ get: (name: string) => (name === 'host' ? host : undefined) }) as Request;
const appWith = (PUBLIC_URL?: string) => ({ config: { PUBLIC_URL, PORT: 3000 } }) as unknown as AppContext;

describe('the domain API’s baseURI', () => {
  it('is PUBLIC_URL’s host (and port), without scheme or path, as LivePerson writes a baseURI', () => {
    expect(baseUriOf(appWith('https://outbound.example.com/'), request('10.0.0.5:3000'))).toBe('outbound.example.com');
    expect(baseUriOf(appWith('http://outbound.example.com:8080/base'), request('x'))).toBe('outbound.example.com:8080');
  });

  it('is the request’s own host without PUBLIC_URL', () => {
    expect(baseUriOf(appWith(undefined), request('127.0.0.1:4321'))).toBe('127.0.0.1:4321');
  });
});
