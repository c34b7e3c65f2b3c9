// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The simulator hands out light abort signals, which Node 24's AbortSignal.any refuses.
    files: ['src/**/*.ts', 'rigs/**/*.ts'],
    ignores: ['src/clock.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'AbortSignal', property: 'any', message: 'use anySignal from src/clock.ts' },
      ],
    },
  },
  {
    // The decision core is pure: no I/O, no clocks, no adapters.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../hana/*',
                '../coordination/*',
                '../kube/*',
                '../agent/*',
                '../operator/*',
                '../cli/*',
                '../observability/*',
                '../sim/*',
                '../fencing/*',
              ],
              message: 'src/domain is pure: it may not import adapters.',
            },
          ],
          paths: [
            'fs',
            'node:fs',
            'fs/promises',
            'node:fs/promises',
            'child_process',
            'node:child_process',
            'net',
            'node:net',
            'http',
            'node:http',
            'https',
            'node:https',
            'dgram',
            'node:dgram',
            'timers',
            'node:timers',
            'etcd3',
            '@kubernetes/client-node',
            '@sap/hana-client',
            'winston',
            'hdb',
          ].map((name) => ({ name, message: 'src/domain is pure: no I/O modules.' })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use the injected clock' },
        { name: 'setInterval', message: 'use the injected clock' },
        { name: 'fetch', message: 'src/domain does no I/O' },
        { name: 'process', message: 'src/domain does no I/O' },
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'pass now in' }],
    },
  },
);
