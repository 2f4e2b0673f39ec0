// ESLint flat config. Module boundaries are errors: they are how the architecture of
// DESIGN §10 is enforced (apps are wiring; domain libraries are pure TypeScript).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const infraPackages = ['kafkajs', 'mongoose', 'mongodb', '@nestjs/*', 'fastify', 'prom-client', 'pino'];
// Code that runs in the visitor's browser (the tracker): no runtime dependencies at all, so no
// npm package and no Node built-in may be imported.
const browserOnly = "Browser code: Node built-ins are not available in the visitor's browser.";
const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'http',
  'https',
  'net',
  'tls',
  'crypto',
  'zlib',
  'stream',
  'child_process',
  'worker_threads',
  'url',
  'util',
  'events',
  'buffer',
  'dns',
  'cluster',
  'readline',
  'vm',
];

export default [
  { ignores: ['node_modules/**', 'dist/**', '.mosaic/**', 'coverage/**', '.nx/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @mosaic/shared-config (validated once at start-up).' },
      ],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:application', 'type:domain', 'type:data-access', 'type:contracts', 'type:util', 'type:browser'],
            },
            { sourceTag: 'type:application', onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:contracts', 'type:util'] },
            { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'], bannedExternalImports: infraPackages },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: infraPackages },
            // Node built-ins are not in Nx's graph: the browser block below bans them.
            { sourceTag: 'type:browser', onlyDependOnLibsWithTags: [], bannedExternalImports: ['*', ...infraPackages] },
            // The console's single-page app reaches Mosaic only through its backend's HTTP API.
            { sourceTag: 'type:web', onlyDependOnLibsWithTags: [], bannedExternalImports: infraPackages },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:collector', onlyDependOnLibsWithTags: ['scope:collector', 'scope:shared'] },
            { sourceTag: 'scope:identity', onlyDependOnLibsWithTags: ['scope:identity', 'scope:shared'] },
            { sourceTag: 'scope:enrichment', onlyDependOnLibsWithTags: ['scope:enrichment', 'scope:shared'] },
            { sourceTag: 'scope:segmentation', onlyDependOnLibsWithTags: ['scope:segmentation', 'scope:shared'] },
            { sourceTag: 'scope:activation', onlyDependOnLibsWithTags: ['scope:activation', 'scope:shared'] },
            { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:console', 'scope:shared'] },
            // The demo shop is a website like any other: it reaches Mosaic over HTTP only.
            { sourceTag: 'scope:demo-shop', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
    },
  },
  {
    // Size (docs/CONVENTIONS.md): split a long function into named steps, a long file by responsibility.
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.d.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 100 }],
    },
  },
  {
    // The config library is the one place that reads the environment; tests set it up.
    files: ['libs/shared/config/src/**/*.ts', '**/*.spec.ts', '**/*.int-spec.ts', 'libs/shared/testing/src/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Controllers and Kafka consumers are thin: they reach the store through repositories and use cases.
    files: ['apps/**/*.controller.ts', 'apps/**/*.controllers.ts', 'apps/**/*.consumer.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['mongodb', 'mongoose'].map((name) => ({ name, message: 'controllers and consumers call use cases or repositories (docs/CONVENTIONS.md)' })),
        },
      ],
    },
  },
  {
    // type:browser projects (the tracker) run in visitors' browsers: no Node built-ins or Node
    // globals (their unit tests run in Node and may use them).
    files: ['libs/tracker/src/**/*.ts', 'apps/console-web/src/**/*.ts', 'apps/console-web/src/**/*.tsx'],
    ignores: ['**/*.spec.ts', '**/*.int-spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.filter((n) => !n.includes('*')).map((name) => ({ name, message: browserOnly })),
          patterns: [{ group: ['node:*'], message: browserOnly }],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'require', 'Buffer', '__dirname', '__filename', 'global', 'module'],
    },
  },
];
