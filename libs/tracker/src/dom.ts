/**
 * The few browser interfaces the tracker uses, declared here instead of TypeScript's DOM
 * library (the workspace compiles for Node; adding `lib.dom` to it would change the types of
 * every service). Structural subsets of the real DOM types. Types only.
 */

export interface AttrLike {
  name: string;
  value: string;
}

export interface ElementLike {
  tagName: string;
  attributes: ArrayLike<AttrLike>;
  textContent: string | null;
  innerHTML: string;
  getAttribute(name: string): string | null;
  closest(selector: string): ElementLike | null;
  querySelectorAll(selector: string): ArrayLike<ElementLike>;
}

export interface FieldElement extends ElementLike {
  type: string;
  name: string;
  id: string;
  value: string;
  checked?: boolean;
}

export interface FormElement extends ElementLike {
  elements: ArrayLike<FieldElement>;
}

export interface AnchorElement extends ElementLike {
  href: string;
  hostname: string;
}

export interface VideoElement extends ElementLike {
  currentTime: number;
  duration: number;
  volume: number;
  muted: boolean;
  ended: boolean;
  seeking: boolean;
  currentSrc: string;
}

export interface EventLike {
  type: string;
  target: unknown;
  persisted?: boolean;
}

export type Listener = (e: EventLike) => void;

export interface EventTargetLike {
  addEventListener(type: string, fn: Listener, options?: boolean | { capture?: boolean; passive?: boolean }): void;
}

export interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface DocumentLike extends EventTargetLike {
  cookie: string;
  referrer: string;
  title: string;
  visibilityState: string;
  fullscreenElement?: unknown;
  documentElement: { scrollHeight: number; clientHeight: number };
  body: { scrollHeight: number } | null;
  currentScript: { src: string } | null;
  querySelectorAll(selector: string): ArrayLike<ElementLike>;
}

export interface LocationLike {
  href: string;
  pathname: string;
  search: string;
  hostname: string;
  protocol: string;
}

export interface ResponseLike {
  status: number;
  json(): Promise<unknown>;
}

export interface FetchInit {
  method: string;
  body: string;
  keepalive?: boolean;
  credentials?: string;
  signal?: unknown;
}

export interface WindowLike extends EventTargetLike {
  document: DocumentLike;
  location: LocationLike;
  history: { pushState(...args: unknown[]): void; replaceState(...args: unknown[]): void };
  navigator: { sendBeacon?(url: string, data: string): boolean; onLine?: boolean; language?: string };
  localStorage?: StorageLike;
  innerHeight: number;
  pageYOffset: number;
  screen?: { width: number; height: number };
  devicePixelRatio?: number;
  crypto?: { getRandomValues(bytes: Uint8Array): Uint8Array };
  fetch(url: string, init: FetchInit): Promise<ResponseLike>;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: number): void;
  AbortController?: new () => { signal: unknown; abort(): void };
  console?: { warn(...args: unknown[]): void };
  mosaic?: unknown;
}
