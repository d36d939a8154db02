import http from 'node:http';

/** One Server-Sent Events message: its `id:`, `event:` and joined `data:` lines. */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * Opens an SSE stream with node:http and calls `onMessage` with each message as soon as its blank
 * line arrives. No reconnection: a benchmark must see a dropped stream, not hide it.
 */
export function openSseStream(options: {
  host: string;
  port: number;
  path: string;
  agent: http.Agent | false;
  onOpen: () => void;
  onMessage: (message: SseMessage) => void;
  onClose: (error: Error | undefined) => void;
}): http.ClientRequest {
  const request = http.get(
    {
      host: options.host,
      port: options.port,
      path: options.path,
      agent: options.agent,
      headers: { accept: 'text/event-stream' },
    },
    (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        options.onClose(new Error(`SSE answered ${response.statusCode}`));
        return;
      }
      options.onOpen();
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message = parseFrame(frame);
          if (message) options.onMessage(message);
          end = buffer.indexOf('\n\n');
        }
      });
      response.on('close', () => options.onClose(undefined));
      response.on('error', (error) => options.onClose(error));
    },
  );
  request.on('error', (error) => options.onClose(error));
  return request;
}

function parseFrame(frame: string): SseMessage | undefined {
  let id: string | undefined;
  let event: string | undefined;
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { id, event, data: data.join('\n') } : undefined;
}
