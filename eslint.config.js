// ESLint (flat config) for the TypeScript sources; `npm run lint` and `npm test` run it. Formatting is prettier's
// (.prettierrc.json), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/api/generated/**', 'init/**', 'bench/results/**', 'bench/kvm-kit/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // tsc (noUnusedLocals) reports unused locals; parameters and `_`-prefixed names are allowed.
      // A `let x!: T` read by a closure before its one assignment cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
