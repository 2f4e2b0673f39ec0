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

/** A review as `[author, rating, text]`. */
type ReviewRow = readonly [string, number, string];

/** A product as written in the table below (its category is the table's). */
type ProductRow = Omit<Product, 'category' | 'reviews'> & { reviews: readonly ReviewRow[] };

function productsOf(category: CategorySlug, rows: readonly ProductRow[]): Product[] {
  return rows.map(({ reviews, ...row }) => ({ ...row, category, reviews: reviews.map(([author, rating, text]) => ({ author, rating, text })) }));
}

export const PRODUCTS: readonly Product[] = [
  ...productsOf('coffee-machines', [
    {
      sku: 'CM-100',
      name: 'BudgetBrew 100',
      price: 49,
      tier: 'bargain',
      brand: 'Brewly',
      summary: 'A no-fuss drip brewer for ten cups, with a keep-warm plate.',
      reviews: [
        ['Sam', 4, 'Does exactly what it says. Great first machine.'],
        ['Ines', 3, 'Fine coffee, the jug drips a little.'],
      ],
    },
    {
      sku: 'CM-300',
      name: 'Classica Pump Espresso',
      price: 189,
      tier: 'mid',
      brand: 'Caffè Nonna',
      summary: '15-bar pump espresso with a steam wand for milk drinks.',
      video: true,
      reviews: [
        ['Marco', 5, 'Crema on day one. The steam wand is strong enough for latte art.'],
        ['Lea', 4, 'Small footprint, easy to clean.'],
      ],
    },
    {
      sku: 'CM-900',
      name: 'Barista Duo',
      price: 899,
      tier: 'premium',
      brand: 'Officina',
      summary: 'Dual boiler, PID temperature control and a rotary pump: brew and steam at once.',
      video: true,
      reviews: [
        ['Ada', 5, 'Temperature stability is superb; shots are consistent all morning.'],
        ['Grace', 5, 'Worth every cent if you drink milk drinks daily.'],
        ['Tom', 4, 'Heavy. Plan the space on your counter.'],
      ],
    },
    {
      sku: 'CM-1690',
      name: 'Leva Pro',
      price: 1690,
      tier: 'premium',
      brand: 'Officina',
      summary: 'A spring lever machine: pressure profiling by hand.',
      video: true,
      reviews: [['Yuki', 5, 'Beautiful machine and a joy to use.']],
    },
    {
      sku: 'CM-2490',
      name: 'Maestro X',
      price: 2490,
      tier: 'premium',
      brand: 'Maestro',
      summary: 'Saturated group, flow control and a built-in scale.',
      video: true,
      reviews: [['Noah', 5, 'Café quality at home.']],
    },
  ]),
  ...productsOf('grinders', [
    {
      sku: 'GR-39',
      name: 'Hand Mill',
      price: 39,
      tier: 'bargain',
      brand: 'Brewly',
      summary: 'Ceramic burrs, travels anywhere.',
      reviews: [['Mia', 4, 'Takes a minute per cup, tastes great.']],
    },
    {
      sku: 'GR-129',
      name: 'Burr 60',
      price: 129,
      tier: 'mid',
      brand: 'Caffè Nonna',
      summary: '60 mm conical burrs with 40 settings from espresso to French press.',
      reviews: [['Jon', 4, 'Quiet and consistent.']],
    },
    {
      sku: 'GR-549',
      name: 'Flat Pro 64',
      price: 549,
      tier: 'premium',
      brand: 'Officina',
      summary: '64 mm flat burrs, stepless adjustment, single dosing.',
      reviews: [['Ada', 5, 'The perfect partner for the Barista Duo.']],
    },
  ]),
  ...productsOf('beans', [
    {
      sku: 'BN-HOUSE',
      name: 'House Blend 1 kg',
      price: 9.9,
      tier: 'bargain',
      brand: 'Mosaic Roasters',
      summary: 'Chocolate and hazelnut; forgiving in any machine.',
      reviews: [['Sam', 4, 'Our daily coffee.']],
    },
    {
      sku: 'BN-ETH',
      name: 'Ethiopia Guji 250 g',
      price: 14.5,
      tier: 'mid',
      brand: 'Mosaic Roasters',
      summary: 'Bergamot, peach and jasmine. Light roast.',
      reviews: [['Lea', 5, 'Like tea, in the best way.']],
    },
    {
      sku: 'BN-GEISHA',
      name: 'Panama Geisha 100 g',
      price: 38,
      tier: 'premium',
      brand: 'Mosaic Roasters',
      summary: 'A competition coffee: florals, citrus and honey.',
      reviews: [['Grace', 5, 'A special-occasion coffee.']],
    },
  ]),
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
  return {
    product_id: p.sku,
    sku: p.sku,
    name: p.name,
    category: CATEGORIES[p.category].name,
    brand: p.brand,
    price: p.price,
    currency: 'EUR',
    price_tier: p.tier,
  };
}
