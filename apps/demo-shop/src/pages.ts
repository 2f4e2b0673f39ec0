/**
 * The demo shop's pages: plain server-rendered HTML, every page carrying the tracker snippet
 * (README "Tracking websites") with the collector's URL and the shop's write key.
 */
import { CATEGORIES, PRODUCTS, productProperties, productsIn, type CategorySlug, type Product } from './catalog';

/** The tracker snippet, as in the README (libs/tracker/src/snippet.ts; a unit test keeps them equal). */
export const SNIPPET_TEMPLATE =
  "!function(w,d,h,k,o){var m=w.mosaic=w.mosaic||[];if(m.VERSION||m.snippet)return;m.snippet=1;'load page track identify alias reset ready consent decide flush'.split(' ').forEach(function(n){m[n]=function(){var a=[n].concat([].slice.call(arguments));return new Promise(function(r,j){a.r=r;a.j=j;m.push(a)})}});var s=d.createElement('script');s.async=!0;s.src=h+'/mosaic.js';(d.head||d.documentElement).appendChild(s);m.load(k,o)}(window,document,'HOST','WRITE_KEY',{});";

export interface PageContext {
  collectorUrl: string;
  writeKey: string;
  /** Passed to `mosaic.load` (apiHost, activationHost, requireConsent, …). */
  trackerOptions: Record<string, unknown>;
  requireConsent: boolean;
}

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** JSON safe inside a `<script>` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function snippetTag(ctx: PageContext): string {
  const code = SNIPPET_TEMPLATE.replace("'HOST'", scriptJson(ctx.collectorUrl))
    .replace("'WRITE_KEY'", scriptJson(ctx.writeKey))
    .replace('{});', `${scriptJson(ctx.trackerOptions)});`);
  return `<script>${code}</script>`;
}

const money = (n: number): string => `€${n.toLocaleString('en-IE', { minimumFractionDigits: n % 1 ? 2 : 0, maximumFractionDigits: 2 })}`;

function layout(ctx: PageContext, title: string, body: string, script = ''): string {
  const nav = (Object.keys(CATEGORIES) as CategorySlug[]).map((slug) => `<a href="/category/${slug}">${esc(CATEGORIES[slug].name)}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Mosaic Coffee</title>
<link rel="stylesheet" href="/assets/shop.css">
${snippetTag(ctx)}
<script>window.SHOP_CONFIG=${scriptJson({ requireConsent: ctx.requireConsent })};</script>
</head>
<body>
<header class="top">
  <a class="logo" href="/">Mosaic&nbsp;Coffee</a>
  <nav>${nav}</nav>
  <span class="account"><span id="greeting"></span><a id="login-link" href="/login">Log in</a><a id="logout-link" href="/" hidden>Log out</a></span>
  <a class="cart-link" href="/cart">Cart <span id="cart-count">0</span></a>
</header>
<main>
${body}
</main>
<footer>
  <form id="newsletter-form" class="newsletter" method="post" action="/newsletter" data-mosaic-event="Newsletter Subscribed" data-mosaic-prop-list="weekly">
    <strong>Brewing tips, weekly.</strong>
    <input type="text" name="firstName" placeholder="First name" autocomplete="given-name" data-mosaic-identify="firstName">
    <input type="email" name="email" placeholder="you@example.com" required autocomplete="email" data-mosaic-identify="email">
    <label><input type="checkbox" name="offers" data-mosaic-identify="marketingOptIn"> and offers</label>
    <button type="submit">Subscribe</button>
  </form>
  <p class="fineprint">A demo shop for Mosaic: nothing here is for sale. Events go to ${esc(ctx.collectorUrl)}.</p>
</footer>
<div id="consent-banner" class="consent" data-mosaic-ignore hidden>
  <p>We would like to measure how this shop is used, to improve it and to personalise what you see.</p>
  <button type="button" data-consent="accept">Accept</button>
  <button type="button" data-consent="decline">Decline</button>
</div>
<script src="/assets/shop.js"></script>
${script}
</body>
</html>
`;
}

function card(p: Product): string {
  return `<li class="card tier-${p.tier}">
  <a href="/product/${esc(p.sku)}" data-mosaic-event="Product Clicked" data-mosaic-prop-product-id="${esc(p.sku)}" data-mosaic-prop-price="${p.price}">
    <span class="thumb" aria-hidden="true">${p.category === 'beans' ? '●' : p.category === 'grinders' ? '◆' : '■'}</span>
    <span class="name">${esc(p.name)}</span>
    <span class="price">${money(p.price)}</span>
    <span class="tier">${p.tier}</span>
  </a>
</li>`;
}

export function homePage(ctx: PageContext): string {
  const featured = ['CM-100', 'CM-300', 'CM-900', 'GR-129', 'BN-ETH'].map((sku) => PRODUCTS.find((p) => p.sku === sku) as Product);
  const tiles = (Object.keys(CATEGORIES) as CategorySlug[])
    .map(
      (slug) =>
        `<li><a class="tile" href="/category/${slug}"><strong>${esc(CATEGORIES[slug].name)}</strong><span>${esc(CATEGORIES[slug].blurb)}</span></a></li>`,
    )
    .join('');
  return layout(
    ctx,
    'Home',
    `<section class="hero">
  <h1>Better coffee at home</h1>
  <p>Machines, grinders and freshly roasted beans.</p>
</section>
<section class="banner" data-mosaic-slot="home-banner">
  <strong>Free delivery over €50.</strong> <a href="/category/beans">Stock up on beans</a>
</section>
<ul class="tiles">${tiles}</ul>
<h2>Popular right now</h2>
<ul class="grid">${featured.map(card).join('')}</ul>`,
    `<script>mosaic.decide({slots:['home-banner']}).catch(function(){});</script>`,
  );
}

export function categoryPage(ctx: PageContext, slug: CategorySlug): string {
  const items = productsIn(slug);
  const c = CATEGORIES[slug];
  return layout(
    ctx,
    c.name,
    `<h1>${esc(c.name)}</h1><p class="lead">${esc(c.blurb)}</p><ul class="grid">${items.map(card).join('')}</ul>`,
    `<script>mosaic.track('Product List Viewed',${scriptJson({ list_id: slug, category: c.name, products: items.map((p, i) => ({ product_id: p.sku, name: p.name, price: p.price, position: i + 1 })) })});</script>`,
  );
}

export function productPage(ctx: PageContext, p: Product): string {
  const props = productProperties(p);
  const stars = (n: number): string => '★'.repeat(n) + '☆'.repeat(5 - n);
  const avg = p.reviews.reduce((s, r) => s + r.rating, 0) / p.reviews.length;
  const reviews = p.reviews
    .map((r) => `<li><span class="stars" aria-label="${r.rating} of 5">${stars(r.rating)}</span> <strong>${esc(r.author)}</strong><p>${esc(r.text)}</p></li>`)
    .join('');
  const video = p.video
    ? `<video id="product-video" controls muted playsinline preload="metadata" width="320" height="180" src="/assets/product-video.webm" data-mosaic-video-id="${esc(p.sku)}-demo" data-mosaic-title="${esc(p.name)} in four seconds" data-mosaic-prop-product-id="${esc(p.sku)}"></video>`
    : '';
  return layout(
    ctx,
    p.name,
    `<nav class="crumbs"><a href="/">Home</a> › <a href="/category/${p.category}">${esc(CATEGORIES[p.category].name)}</a></nav>
<article class="product" data-sku="${esc(p.sku)}">
  <div class="media">${video || '<div class="placeholder" aria-hidden="true">☕</div>'}</div>
  <div class="info">
    <h1>${esc(p.name)}</h1>
    <p class="brand">${esc(p.brand)} · <span class="tier">${p.tier}</span></p>
    <p class="price">${money(p.price)}</p>
    <p>${esc(p.summary)}</p>
    <button id="add-to-cart" class="primary" data-add-to-cart="${esc(p.sku)}" data-name="${esc(p.name)}" data-price="${p.price}" data-category="${esc(CATEGORIES[p.category].name)}"
      data-mosaic-event="Product Added" data-mosaic-prop-product-id="${esc(p.sku)}" data-mosaic-prop-sku="${esc(p.sku)}" data-mosaic-prop-name="${esc(p.name)}"
      data-mosaic-prop-price="${p.price}" data-mosaic-prop-quantity="1" data-mosaic-prop-currency="EUR" data-mosaic-prop-price-tier="${p.tier}">Add to cart</button>
  </div>
</article>
<nav class="tabs"><a href="?tab=details" data-tab="details" class="active">Details</a><a href="?tab=reviews" data-tab="reviews" id="reviews-tab">Reviews (${p.reviews.length}, ${avg.toFixed(1)}★)</a></nav>
<section id="tab-details" class="tab"><p>${esc(p.summary)} Two-year warranty, free returns within 30 days.</p></section>
<section id="tab-reviews" class="tab" hidden><ul class="reviews">${reviews}</ul></section>`,
    `<script>mosaic.track('Product Viewed',${scriptJson(props)});</script>`,
  );
}

export function cartPage(ctx: PageContext): string {
  return layout(
    ctx,
    'Cart',
    `<h1>Your cart</h1>
<div id="cart"><p class="empty">Your cart is empty.</p></div>
<p><a id="checkout-link" class="button primary" href="/checkout">Checkout</a></p>`,
    `<script>shop.renderCart();mosaic.track('Cart Viewed',shop.cartProperties());</script>`,
  );
}

export function checkoutPage(ctx: PageContext): string {
  return layout(
    ctx,
    'Checkout',
    `<div id="checkout">
<h1>Checkout</h1>
<div id="order-summary"></div>
<form id="checkout-form" class="stack" action="/checkout" method="post">
  <label>Name <input name="name" autocomplete="name" required data-mosaic-identify="name"></label>
  <label>Email <input type="email" name="email" autocomplete="email" required data-mosaic-identify="email"></label>
  <label>Address <input name="address" autocomplete="street-address" required></label>
  <!-- Marked on purpose: the tracker never reads card fields, whatever the marking says. -->
  <label>Card number <input name="cardnumber" autocomplete="cc-number" inputmode="numeric" required data-mosaic-identify="card"></label>
  <label>Expiry <input name="cc-exp" autocomplete="cc-exp" placeholder="MM/YY" required></label>
  <label>CVC <input name="cvc" autocomplete="cc-csc" inputmode="numeric" required></label>
  <button type="submit" id="place-order" class="primary">Place order</button>
</form>
</div>
<div id="thank-you" hidden><h1>Thank you!</h1><p>Your order <strong id="order-id"></strong> is on its way.</p><p><a href="/">Back to the shop</a></p></div>`,
    `<script>shop.checkout();</script>`,
  );
}

export function loginPage(ctx: PageContext): string {
  return layout(
    ctx,
    'Log in',
    `<h1>Log in</h1>
<form id="login-form" class="stack" action="/login" method="post">
  <label>Email <input type="email" name="email" autocomplete="username" required></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
  <button type="submit" class="primary">Log in</button>
</form>
<p class="fineprint">Any email and password will do: this is a demo.</p>`,
    `<script>shop.login();</script>`,
  );
}

export function messagePage(ctx: PageContext, title: string, text: string, status = ''): string {
  return layout(ctx, title, `<h1>${esc(title)}</h1><p>${esc(text)}</p><p><a href="/">Back to the shop</a></p>${status}`);
}
