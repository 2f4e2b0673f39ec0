// The demo shop's own behaviour: cart (localStorage), login, checkout, product tabs, consent
// banner. Everything it tells Mosaic goes through the tracker's public API (window.mosaic).
'use strict';
// A block rather than a function around everything: in strict code what is declared in it stays
// in it, so the page's global scope gets `window.shop` only.
{
  const CART = 'demo_cart';
  const USER = 'demo_user';
  const CONSENT = 'demo_consent';

  function read(key, fallback) {
    try {
      var v = JSON.parse(localStorage.getItem(key));
      return v === null || v === undefined ? fallback : v;
    } catch (e) {
      return fallback;
    }
  }
  function write(key, value) {
    try {
      if (value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* private mode */
    }
  }
  function money(n) {
    return '€' + n.toLocaleString('en-IE', { minimumFractionDigits: n % 1 ? 2 : 0, maximumFractionDigits: 2 });
  }
  function cart() {
    return read(CART, []);
  }
  function updateCount() {
    var n = cart().reduce(function (s, i) {
      return s + i.quantity;
    }, 0);
    var el = document.getElementById('cart-count');
    if (el) el.textContent = String(n);
  }
  function total(items) {
    return (
      Math.round(
        items.reduce(function (s, i) {
          return s + i.price * i.quantity;
        }, 0) * 100,
      ) / 100
    );
  }
  function products(items) {
    return items.map(function (i) {
      return { product_id: i.sku, sku: i.sku, name: i.name, category: i.category, price: i.price, quantity: i.quantity };
    });
  }
  // FNV-1a: a stable demo user id from an email address.
  function userIdFor(email) {
    var h = 0x811c9dc5;
    for (var i = 0; i < email.length; i++) {
      h ^= email.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return 'cust-' + h.toString(16);
  }
  function goHomeAfterFlush() {
    mosaic.flush().then(
      function () {
        location.href = '/';
      },
      function () {
        location.href = '/';
      },
    );
  }

  // ---- what the pages call (window.shop) ----

  function cartProperties() {
    var items = cart();
    return { cart_id: 'demo', products: products(items), value: total(items), currency: 'EUR' };
  }
  function cartRow(i) {
    return (
      '<tr><td>' +
      i.name +
      '</td><td>' +
      i.quantity +
      '</td><td>' +
      money(i.price * i.quantity) +
      '</td>' +
      '<td><button type="button" class="link" data-remove="' +
      i.sku +
      '" data-mosaic-event="Product Removed" data-mosaic-prop-product-id="' +
      i.sku +
      '">Remove</button></td></tr>'
    );
  }
  function renderCart() {
    var items = cart();
    var box = document.getElementById('cart');
    if (!box) return;
    if (!items.length) {
      box.innerHTML = '<p class="empty">Your cart is empty.</p>';
      return;
    }
    var rows = items.map(cartRow).join('');
    box.innerHTML =
      '<table class="cart"><tbody>' + rows + '</tbody><tfoot><tr><td>Total</td><td></td><td>' + money(total(items)) + '</td><td></td></tr></tfoot></table>';
  }
  function checkout() {
    var items = cart();
    var summary = document.getElementById('order-summary');
    if (summary) summary.textContent = items.length ? items.length + ' item(s), ' + money(total(items)) : 'Your cart is empty.';
    mosaic.track('Checkout Started', cartProperties());
    var form = document.getElementById('checkout-form');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      placeOrder(items);
    });
    if (location.pathname === '/checkout/thank-you') showThankYou('');
  }
  function placeOrder(items) {
    var orderId = 'ORD-' + Date.now().toString(36).toUpperCase();
    var value = total(items);
    mosaic.track('Order Completed', { order_id: orderId, total: value, revenue: value, currency: 'EUR', products: products(items) });
    write(CART, []);
    updateCount();
    // The confirmation is shown without a page load: a single-page-app navigation.
    history.pushState({}, '', '/checkout/thank-you');
    showThankYou(orderId);
  }
  function showThankYou(orderId) {
    document.getElementById('checkout').hidden = true;
    document.getElementById('thank-you').hidden = false;
    document.getElementById('order-id').textContent = orderId;
  }
  function login() {
    var form = document.getElementById('login-form');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var email = form.elements.email.value.trim().toLowerCase();
      var userId = userIdFor(email);
      write(USER, { id: userId, email: email });
      mosaic.identify(userId, { email: email });
      mosaic.track('Signed In', { method: 'password' });
      goHomeAfterFlush();
    });
  }

  const shop = (window.shop = { cartProperties: cartProperties, renderCart: renderCart, checkout: checkout, login: login });

  // ---- clicks: add to cart, remove, product tabs, consent banner, sign out ----

  function addToCart(add) {
    var items = cart();
    var sku = add.getAttribute('data-add-to-cart');
    var found = items.filter(function (i) {
      return i.sku === sku;
    })[0];
    if (found) found.quantity += 1;
    else
      items.push({
        sku: sku,
        name: add.getAttribute('data-name'),
        price: Number(add.getAttribute('data-price')),
        category: add.getAttribute('data-category'),
        quantity: 1,
      });
    write(CART, items);
    updateCount();
    add.textContent = 'Added ✓';
  }
  function removeFromCart(remove) {
    write(
      CART,
      cart().filter(function (i) {
        return i.sku !== remove.getAttribute('data-remove');
      }),
    );
    updateCount();
    shop.renderCart();
  }
  function chooseConsent(consent) {
    var yes = consent.getAttribute('data-consent') === 'accept';
    write(CONSENT, yes);
    mosaic.consent({ analytics: yes, personalization: yes });
    document.getElementById('consent-banner').hidden = true;
  }
  function signOut() {
    write(USER, undefined);
    mosaic.track('Signed Out');
    mosaic.reset();
    goHomeAfterFlush();
  }
  function closest(e, selector) {
    return e.target.closest && e.target.closest(selector);
  }
  function onClick(e) {
    var add = closest(e, '[data-add-to-cart]');
    if (add) return addToCart(add);
    var remove = closest(e, '[data-remove]');
    if (remove) return removeFromCart(remove);
    var tab = closest(e, '[data-tab]');
    if (tab) {
      e.preventDefault();
      history.pushState({}, '', '?tab=' + tab.getAttribute('data-tab'));
      return showTab(tab.getAttribute('data-tab'));
    }
    var consent = closest(e, '[data-consent]');
    if (consent) return chooseConsent(consent);
    if (e.target.id === 'logout-link') {
      e.preventDefault();
      signOut();
    }
  }

  function showTab(name) {
    var tabs = document.querySelectorAll('[data-tab]');
    for (var i = 0; i < tabs.length; i++) tabs[i].classList.toggle('active', tabs[i].getAttribute('data-tab') === name);
    var d = document.getElementById('tab-details');
    var r = document.getElementById('tab-reviews');
    if (d && r) {
      d.hidden = name === 'reviews';
      r.hidden = name !== 'reviews';
    }
  }
  function tabInUrl() {
    var m = /[?&]tab=(\w+)/.exec(location.search);
    return m ? m[1] : undefined;
  }

  // ---- on every page ----

  function showUser() {
    var user = read(USER, null);
    if (!user) return;
    document.getElementById('greeting').textContent = 'Hi, ' + user.email;
    document.getElementById('login-link').hidden = true;
    document.getElementById('logout-link').hidden = false;
  }
  function applyConsentChoice() {
    if (!(window.SHOP_CONFIG && window.SHOP_CONFIG.requireConsent)) return;
    var choice = read(CONSENT, null);
    if (choice === null) document.getElementById('consent-banner').hidden = false;
    else if (choice === false) mosaic.consent({ analytics: false, personalization: false });
  }

  document.addEventListener('click', onClick);
  window.addEventListener('popstate', function () {
    showTab(tabInUrl() || 'details');
  });
  const initialTab = tabInUrl();
  if (initialTab) showTab(initialTab);
  showUser();
  applyConsentChoice();
  updateCount();
}
