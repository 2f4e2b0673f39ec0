/** The demo shop's catalogue: coffee machines from bargain to premium, grinders and beans. */

export interface Review {
  author: string;
  rating: number;
  text: string;
}

export interface Product {
  sku: string;
  name: string;
  category: CategorySlug;
  price: number;
  /** bargain, mid or premium: what segments on price tier look at. */
  tier: 'bargain' | 'mid' | 'premium';
  brand: string;
  summary: string;
  video?: boolean;
  reviews: Review[];
}

export type CategorySlug = 'coffee-machines' | 'grinders' | 'beans';

export const CATEGORIES: Readonly<Record<CategorySlug, { name: string; blurb: string }>> = {
  'coffee-machines': { name: 'Coffee machines', blurb: 'From a first drip brewer to a dual-boiler for the home barista.' },
  grinders: { name: 'Grinders', blurb: 'Fresh grounds make the cup: hand mills to flat-burr workhorses.' },
  beans: { name: 'Beans', blurb: 'Roasted weekly in small batches.' },
};

export const PRODUCTS: readonly Product[] = [
  {
    sku: 'CM-100', name: 'BudgetBrew 100', category: 'coffee-machines', price: 49, tier: 'bargain', brand: 'Brewly',
    summary: 'A no-fuss drip brewer for ten cups, with a keep-warm plate.',
    reviews: [
      { author: 'Sam', rating: 4, text: 'Does exactly what it says. Great first machine.' },
      { author: 'Ines', rating: 3, text: 'Fine coffee, the jug drips a little.' },
    ],
  },
  {
    sku: 'CM-300', name: 'Classica Pump Espresso', category: 'coffee-machines', price: 189, tier: 'mid', brand: 'Caffè Nonna',
    summary: '15-bar pump espresso with a steam wand for milk drinks.', video: true,
    reviews: [
      { author: 'Marco', rating: 5, text: 'Crema on day one. The steam wand is strong enough for latte art.' },
      { author: 'Lea', rating: 4, text: 'Small footprint, easy to clean.' },
    ],
  },
  {
    sku: 'CM-900', name: 'Barista Duo', category: 'coffee-machines', price: 899, tier: 'premium', brand: 'Officina',
    summary: 'Dual boiler, PID temperature control and a rotary pump: brew and steam at once.', video: true,
    reviews: [
      { author: 'Ada', rating: 5, text: 'Temperature stability is superb; shots are consistent all morning.' },
      { author: 'Grace', rating: 5, text: 'Worth every cent if you drink milk drinks daily.' },
      { author: 'Tom', rating: 4, text: 'Heavy. Plan the space on your counter.' },
    ],
  },
  {
    sku: 'CM-1690', name: 'Leva Pro', category: 'coffee-machines', price: 1690, tier: 'premium', brand: 'Officina',
    summary: 'A spring lever machine: pressure profiling by hand.', video: true,
    reviews: [{ author: 'Yuki', rating: 5, text: 'Beautiful machine and a joy to use.' }],
  },
  {
    sku: 'CM-2490', name: 'Maestro X', category: 'coffee-machines', price: 2490, tier: 'premium', brand: 'Maestro',
    summary: 'Saturated group, flow control and a built-in scale.', video: true,
    reviews: [{ author: 'Noah', rating: 5, text: 'Café quality at home.' }],
  },
  {
    sku: 'GR-39', name: 'Hand Mill', category: 'grinders', price: 39, tier: 'bargain', brand: 'Brewly',
    summary: 'Ceramic burrs, travels anywhere.',
    reviews: [{ author: 'Mia', rating: 4, text: 'Takes a minute per cup, tastes great.' }],
  },
  {
    sku: 'GR-129', name: 'Burr 60', category: 'grinders', price: 129, tier: 'mid', brand: 'Caffè Nonna',
    summary: '60 mm conical burrs with 40 settings from espresso to French press.',
    reviews: [{ author: 'Jon', rating: 4, text: 'Quiet and consistent.' }],
  },
  {
    sku: 'GR-549', name: 'Flat Pro 64', category: 'grinders', price: 549, tier: 'premium', brand: 'Officina',
    summary: '64 mm flat burrs, stepless adjustment, single dosing.',
    reviews: [{ author: 'Ada', rating: 5, text: 'The perfect partner for the Barista Duo.' }],
  },
  {
    sku: 'BN-HOUSE', name: 'House Blend 1 kg', category: 'beans', price: 9.9, tier: 'bargain', brand: 'Mosaic Roasters',
    summary: 'Chocolate and hazelnut; forgiving in any machine.',
    reviews: [{ author: 'Sam', rating: 4, text: 'Our daily coffee.' }],
  },
  {
    sku: 'BN-ETH', name: 'Ethiopia Guji 250 g', category: 'beans', price: 14.5, tier: 'mid', brand: 'Mosaic Roasters',
    summary: 'Bergamot, peach and jasmine. Light roast.',
    reviews: [{ author: 'Lea', rating: 5, text: 'Like tea, in the best way.' }],
  },
  {
    sku: 'BN-GEISHA', name: 'Panama Geisha 100 g', category: 'beans', price: 38, tier: 'premium', brand: 'Mosaic Roasters',
    summary: 'A competition coffee: florals, citrus and honey.',
    reviews: [{ author: 'Grace', rating: 5, text: 'A special-occasion coffee.' }],
  },
];

export function productBySku(sku: string): Product | undefined {
  return PRODUCTS.find((p) => p.sku.toLowerCase() === sku.toLowerCase());
}

export function productsIn(category: CategorySlug): Product[] {
  return PRODUCTS.filter((p) => p.category === category).sort((a, b) => a.price - b.price);
}

export function isCategory(slug: string): slug is CategorySlug {
  return Object.prototype.hasOwnProperty.call(CATEGORIES, slug);
}

/** The properties of a product in Segment's E-commerce spec. */
export function productProperties(p: Product): Record<string, string | number> {
  return { product_id: p.sku, sku: p.sku, name: p.name, category: CATEGORIES[p.category].name, brand: p.brand, price: p.price, currency: 'EUR', price_tier: p.tier };
}
