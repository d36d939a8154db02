import { describe, expect, it } from 'vitest';
import { parseSseFrame } from './sse.ts';

describe('parseSseFrame', () => {
  it('reads id, event and multi-line data, dropping one leading space of each value', () => {
    expect(parseSseFrame('id: 7\nevent: ready\ndata: {"a":\ndata:1}')).toEqual({
      id: '7',
      event: 'ready',
      data: '{"a":\n1}',
    });
  });

  it('gives no message for a comment or a frame without data, as browsers dispatch none', () => {
    expect(parseSseFrame(': heartbeat')).toBeUndefined();
    expect(parseSseFrame('retry: 2000\nid: 3')).toBeUndefined();
  });
});
