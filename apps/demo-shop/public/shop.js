// The demo shop's own behaviour: cart (localStorage), login, checkout, product tabs, consent
// banner. Everything it tells Mosaic goes through the tracker's public API (window.mosaic).
(function () {
  'use strict';
  var CART = 'demo_cart';
  var USER = 'demo_user';
  var CONSENT = 'demo_consent';

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
    var n = cart().reduce(function (s, i) { return s + i.quantity; }, 0);
    var el = document.getElementById('cart-count');
    if (el) el.textContent = String(n);
  }
  function total(items) {
    return Math.round(items.reduce(function (s, i) { return s + i.price * i.quantity; }, 0) * 100) / 100;
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

  var shop = (window.shop = {
    cartProperties: function () {
      var items = cart();
      return { cart_id: 'demo', products: products(items), value: total(items), currency: 'EUR' };
    },
    renderCart: function () {
      var items = cart();
      var box = document.getElementById('cart');
      if (!box) return;
      if (!items.length) {
        box.innerHTML = '<p class="empty">Your cart is empty.</p>';
        return;
      }
      var rows = items
        .map(function (i) {
          return '<tr><td>' + i.name + '</td><td>' + i.quantity + '</td><td>' + money(i.price * i.quantity) + '</td>' +
            '<td><button type="button" class="link" data-remove="' + i.sku + '" data-mosaic-event="Product Removed" data-mosaic-prop-product-id="' + i.sku + '">Remove</button></td></tr>';
        })
        .join('');
      box.innerHTML = '<table class="cart"><tbody>' + rows + '</tbody><tfoot><tr><td>Total</td><td></td><td>' + money(total(items)) + '</td><td></td></tr></tfoot></table>';
    },
    checkout: function () {
      var items = cart();
      var summary = document.getElementById('order-summary');
      if (summary) summary.textContent = items.length ? items.length + ' item(s), ' + money(total(items)) : 'Your cart is empty.';
      mosaic.track('Checkout Started', shop.cartProperties());
      var form = document.getElementById('checkout-form');
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var orderId = 'ORD-' + Date.now().toString(36).toUpperCase();
        var value = total(items);
        mosaic.track('Order Completed', { order_id: orderId, total: value, revenue: value, currency: 'EUR', products: products(items) });
        write(CART, []);
        updateCount();
        // The confirmation is shown without a page load: a single-page-app navigation.
        history.pushState({}, '', '/checkout/thank-you');
        showThankYou(orderId);
      });
      if (location.pathname === '/checkout/thank-you') showThankYou('');
    },
    login: function () {
      var form = document.getElementById('login-form');
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var email = form.elements.email.value.trim().toLowerCase();
        var userId = userIdFor(email);
        write(USER, { id: userId, email: email });
        mosaic.identify(userId, { email: email });
        mosaic.track('Signed In', { method: 'password' });
        mosaic.flush().then(function () { location.href = '/'; }, function () { location.href = '/'; });
      });
    },
  });

  function showThankYou(orderId) {
    document.getElementById('checkout').hidden = true;
    document.getElementById('thank-you').hidden = false;
    document.getElementById('order-id').textContent = orderId;
  }

  document.addEventListener('click', function (e) {
    var add = e.target.closest && e.target.closest('[data-add-to-cart]');
    if (add) {
      var items = cart();
      var sku = add.getAttribute('data-add-to-cart');
      var found = items.filter(function (i) { return i.sku === sku; })[0];
      if (found) found.quantity += 1;
      else items.push({ sku: sku, name: add.getAttribute('data-name'), price: Number(add.getAttribute('data-price')), category: add.getAttribute('data-category'), quantity: 1 });
      write(CART, items);
      updateCount();
      add.textContent = 'Added ✓';
      return;
    }
    var remove = e.target.closest && e.target.closest('[data-remove]');
    if (remove) {
      write(CART, cart().filter(function (i) { return i.sku !== remove.getAttribute('data-remove'); }));
      updateCount();
      shop.renderCart();
      return;
    }
    var tab = e.target.closest && e.target.closest('[data-tab]');
    if (tab) {
      e.preventDefault();
      history.pushState({}, '', '?tab=' + tab.getAttribute('data-tab'));
      showTab(tab.getAttribute('data-tab'));
      return;
    }
    var consent = e.target.closest && e.target.closest('[data-consent]');
    if (consent) {
      var yes = consent.getAttribute('data-consent') === 'accept';
      write(CONSENT, yes);
      mosaic.consent({ analytics: yes, personalization: yes });
      document.getElementById('consent-banner').hidden = true;
      return;
    }
    if (e.target.id === 'logout-link') {
      e.preventDefault();
      write(USER, undefined);
      mosaic.track('Signed Out');
      mosaic.reset();
      mosaic.flush().then(function () { location.href = '/'; }, function () { location.href = '/'; });
    }
  });

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
  window.addEventListener('popstate', function () {
    var m = /[?&]tab=(\w+)/.exec(location.search);
    showTab(m ? m[1] : 'details');
  });
  var initialTab = /[?&]tab=(\w+)/.exec(location.search);
  if (initialTab) showTab(initialTab[1]);

  var user = read(USER, null);
  if (user) {
    document.getElementById('greeting').textContent = 'Hi, ' + user.email;
    document.getElementById('login-link').hidden = true;
    document.getElementById('logout-link').hidden = false;
  }
  if (window.SHOP_CONFIG && window.SHOP_CONFIG.requireConsent) {
    var choice = read(CONSENT, null);
    if (choice === null) document.getElementById('consent-banner').hidden = false;
    else if (choice === false) mosaic.consent({ analytics: false, personalization: false });
  }
  updateCount();
})();
