import { describe, expect, it } from 'vitest';
import { withoutTrailingCommas } from '../../../src/http/api/lenient-json.ts';

describe('withoutTrailingCommas', () => {
  it('drops commas before a closing brace or bracket, outside strings only', () => {
    expect(JSON.parse(withoutTrailingCommas('{"a": [1, 2, ], "b": {"c": "x",\n }, }'))).toEqual({
      a: [1, 2],
      b: { c: 'x' },
    });
    expect(withoutTrailingCommas('{"a": "1,}", "b": "q\\",]"}')).toBe('{"a": "1,}", "b": "q\\",]"}');
    expect(() => JSON.parse(withoutTrailingCommas('{"a": 1,, }'))).toThrow();
    expect(JSON.parse(withoutTrailingCommas('[1 ,\n\t\r ]'))).toEqual([1]);
    expect(withoutTrailingCommas('[1, 2]')).toBe('[1, 2]');
  });
});
