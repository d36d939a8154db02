/**
 * Scripts that run in the browser, written here so that they are type-checked, and served as text
 * (see `browserScript`). Neither may refer to anything outside its own body.
 */

/**
 * The behaviour of Hi.Events' embed script (`frontend/src/embed/widget.js`): every
 * `.hievents-widget[data-hievents-id]` gets an iframe of `{script origin}/widget/{id}?iframeId=…`
 * with the other `data-hievents-*` attributes as PascalCase parameters, and grows to the height the
 * widget reports, trusting only messages from the script's own origin.
 */
export function embedHiEventsWidgets(script: HTMLScriptElement | null): void {
  const w = window as Window & { hiEventWidgetLoaded?: boolean };
  if (!script?.src || w.hiEventWidgetLoaded) return;
  const origin = new URL(script.src).origin;

  const mount = () => {
    w.hiEventWidgetLoaded = true;
    document.querySelectorAll<HTMLElement>('.hievents-widget').forEach((container, index) => {
      const eventId = container.getAttribute('data-hievents-id');
      if (!eventId) {
        console.error('Hi.Events widget: data-hievents-id is required');
        return;
      }
      const iframeId = `hievents-iframe-${index}`;
      const params = new URLSearchParams({ iframeId });
      for (const attribute of Array.from(container.attributes)) {
        if (!attribute.name.startsWith('data-hievents-') || attribute.name === 'data-hievents-id') continue;
        const name = attribute.name
          .slice('data-hievents'.length)
          .replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
        params.set(name, attribute.value);
      }
      const iframe = document.createElement('iframe');
      iframe.id = iframeId;
      iframe.title = 'Hi.Events Widget';
      iframe.setAttribute(
        'sandbox',
        'allow-forms allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation',
      );
      iframe.style.border = 'none';
      iframe.style.width = '100%';
      iframe.src = `${origin}/widget/${encodeURIComponent(eventId)}?${params.toString()}`;
      container.appendChild(iframe);

      if (container.getAttribute('data-hievents-autoresize') === 'false') return;
      window.addEventListener('message', (message: MessageEvent) => {
        if (message.origin !== origin) return;
        const data = message.data as { type?: unknown; height?: unknown; iframeId?: unknown } | null;
        if (data?.type !== 'resize' || data.iframeId !== iframeId) return;
        if (typeof data.height === 'number' && data.height > 0) iframe.style.height = `${data.height}px`;
      });
    });
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
}

/**
 * The widget page's side of the resize protocol: it posts `{type: 'resize', height, iframeId}` to the
 * page that frames it whenever its height changes. The height is no secret, so any parent may read it.
 */
export function reportWidgetHeight(): void {
  const iframeId = new URLSearchParams(window.location.search).get('iframeId');
  if (!iframeId || window.parent === window) return;
  let reported = 0;
  const report = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === reported || height <= 0) return;
    reported = height;
    window.parent.postMessage({ type: 'resize', height, iframeId }, '*');
  };
  new ResizeObserver(report).observe(document.documentElement);
  report();
}
