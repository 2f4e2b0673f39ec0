/**
 * Steps of `applyEvent` for named track events: products and categories viewed, the cart,
 * orders and refunds, email engagement, the last exit page.
 */
import { addAffinity, pushRing, roundMoney, upsertCounted } from './collections';
import type { EventStep } from './event-step';
import { NUMBER_LIMITS, boundedNum, isObj, maxDefined, minDefined, ms, iso, obj, str } from './util';

interface Product {
  id?: string;
  name?: string;
  category?: string;
  price?: number;
  quantity?: number;
}

function productOf(p: Record<string, unknown>): Product {
  return {
    id: str(p['product_id'], 256) ?? str(p['sku'], 256) ?? str(p['id'], 256),
    name: str(p['name'], 256),
    category: str(p['category'], 256),
    price: boundedNum(p['price'], NUMBER_LIMITS.amount),
    quantity: boundedNum(p['quantity'], NUMBER_LIMITS.quantity),
  };
}

/** The observation a product event gives the category price index: its category (as profiles hold it) and a positive price. */
export function priceObservationOf(properties: unknown): { category: string; price: number } | undefined {
  const p = productOf(obj(properties));
  return p.category !== undefined && p.price !== undefined && p.price > 0 ? { category: p.category, price: p.price } : undefined;
}

/** An amount of an order event's properties (`total`, else `revenue`, else `value`). */
function amountOf(props: Record<string, unknown>): number | undefined {
  for (const k of ['total', 'revenue', 'value']) {
    const v = boundedNum(props[k], NUMBER_LIMITS.amount);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The step of the event's name, if it has one. */
export function applyNamedEvent(x: EventStep): void {
  switch (x.name) {
    case 'Product Viewed':
      return applyProductViewed(x);
    case 'Product List Viewed':
    case 'Product Category Viewed':
      return applyListViewed(x);
    case 'Product Added':
    case 'Product Removed':
      return applyCartChange(x, x.name === 'Product Added');
    case 'Order Completed':
      return applyOrderCompleted(x);
    case 'Order Refunded':
      return applyOrderRefunded(x);
    case 'Email Sent':
    case 'Email Delivered':
    case 'Email Opened':
    case 'Email Link Clicked':
      return applyEmail(x, x.name);
    case 'Page Exited':
      return applyPageExited(x);
    default:
      return;
  }
}

function applyProductViewed({ c, I, cfg, t, at, props, halfLife }: EventStep): void {
  const p = productOf(props);
  c.productViews += 1;
  if (p.id) c.productsViewed = upsertCounted(c.productsViewed, { key: p.id, name: p.name, category: p.category, lastAt: at }, 1, cfg.maxProductsViewed);
  if (!p.category) return;
  c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: p.category, lastAt: at }, 1, cfg.maxCategories);
  I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.view, t, halfLife);
  if (p.price === undefined || p.price <= 0) return;
  const cur = I.prices.find((x) => x.category === p.category);
  if (cur) {
    cur.n += 1;
    cur.sum = roundMoney(cur.sum + p.price);
  } else if (I.prices.length < cfg.maxCategories) I.prices.push({ category: p.category, n: 1, sum: p.price });
}

function applyListViewed({ c, I, cfg, t, at, props, halfLife }: EventStep): void {
  const cat = str(props['category'], 256);
  if (!cat) return;
  c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: cat, lastAt: at }, 1, cfg.maxCategories);
  I.affinity = addAffinity(I.affinity, cat, cfg.affinityWeights.listView, t, halfLife);
}

function applyCartChange(x: EventStep, added: boolean): void {
  const { I, cfg, t, halfLife } = x;
  const p = productOf(x.props);
  if (p.category && added) I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.add, t, halfLife);
  if (!p.id || (I.cartClearedAt !== undefined && t <= I.cartClearedAt)) return;
  I.cartAt = maxDefined(I.cartAt, t);
  const q = p.quantity !== undefined && p.quantity > 0 ? Math.floor(p.quantity) || 1 : undefined;
  if (added) addToCart(x, p as Product & { id: string }, q);
  else removeFromCart(x, p.id, q);
}

function addToCart({ c, cfg, t }: EventStep, p: Product & { id: string }, q: number | undefined): void {
  const items = c.cart.items;
  const item = items.find((x) => x.productId === p.id);
  if (item) {
    item.quantity = Math.min(NUMBER_LIMITS.quantity, item.quantity + (q ?? 1));
    if (t >= item.at) {
      item.at = t;
      if (p.price !== undefined && p.price >= 0) item.price = p.price;
      if (p.name) item.name = p.name;
    }
  } else if (items.length < cfg.maxCartItems) {
    items.push({
      productId: p.id,
      ...(p.name ? { name: p.name } : {}),
      ...(p.category ? { category: p.category } : {}),
      price: p.price !== undefined && p.price >= 0 ? p.price : 0,
      quantity: q ?? 1,
      at: t,
    });
  }
}

function removeFromCart({ c, t }: EventStep, productId: string, q: number | undefined): void {
  const items = c.cart.items;
  const idx = items.findIndex((x) => x.productId === productId);
  const item = items[idx];
  if (!item) return;
  item.quantity -= q ?? item.quantity;
  item.at = Math.max(item.at, t);
  if (item.quantity <= 0) items.splice(idx, 1);
}

function applyOrderCompleted(x: EventStep): void {
  const { c, I, cfg, t, props, halfLife } = x;
  const orderId = str(props['order_id'], 256) ?? str(props['checkout_id'], 256);
  if (orderId && I.orderIds.includes(orderId)) return; // the same order again (online + import)
  if (orderId) I.orderIds = pushRing(I.orderIds, [orderId], cfg.maxOrderIds);
  const products = Array.isArray(props['products']) ? props['products'].filter(isObj).map(productOf) : [];
  const fromProducts = products.reduce((sum, p) => sum + (p.price ?? 0) * (p.quantity ?? 1), 0);
  const amount = Math.min(NUMBER_LIMITS.amount, amountOf(props) ?? fromProducts);
  x.revenue = Number.isFinite(amount) && amount > 0 ? amount : 0;
  x.orders = 1;
  c.orders.count += 1;
  c.orders.revenue = roundMoney(c.orders.revenue + x.revenue);
  c.orders.firstOrderAt = iso(minDefined(ms(c.orders.firstOrderAt), t) as number);
  c.orders.lastOrderAt = iso(maxDefined(ms(c.orders.lastOrderAt), t) as number);
  for (const p of products) if (p.category) I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.purchase, t, halfLife);
  // the cart is emptied of everything added up to the order
  I.cartClearedAt = maxDefined(I.cartClearedAt, t);
  c.cart.items = c.cart.items.filter((item) => item.at > (I.cartClearedAt as number));
}

function applyOrderRefunded(x: EventStep): void {
  const amount = amountOf(x.props);
  if (amount === undefined || amount <= 0) return;
  x.c.orders.refunds = roundMoney(x.c.orders.refunds + amount);
  x.revenue = -amount;
}

function applyEmail({ c, t, props }: EventStep, name: string): void {
  const machine = props['machine'] === true;
  if (name === 'Email Sent') c.email.sent += 1;
  else if (name === 'Email Delivered') c.email.delivered += 1;
  else if (name === 'Email Opened' && machine) c.email.machineOpened += 1;
  else if (name === 'Email Opened') {
    c.email.opened += 1;
    c.email.lastOpenAt = iso(maxDefined(ms(c.email.lastOpenAt), t) as number);
  } else if (machine) c.email.machineClicked += 1;
  else c.email.clicked += 1;
}

function applyPageExited({ c, I, t, at, props, context }: EventStep): void {
  const page = obj(context['page']);
  const url = str(props['url'], 2048) ?? str(props['path'], 2048) ?? str(page['url'], 2048) ?? str(page['path'], 2048);
  if (url && (I.exitAt === undefined || t >= I.exitAt)) {
    I.exitAt = t;
    c.lastExitPage = { url, at };
  }
}
